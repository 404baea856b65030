"""Open metadata types, following Egeria's type names, one module per area; `default_registry()` has them all."""

from __future__ import annotations

from functools import cache

from metaferry_runtime.repository.types import (
    analytics,
    api,
    catalog,
    database,
    display,
    files,
    infrastructure,
    lineage,
    organization,
    security,
    topic,
)
from metaferry_runtime.repository.types.defs import (
    ClassificationDef,
    ElementTypeDef,
    PropertyDef,
    PropertyKind,
    RelationshipTypeDef,
    TypeArea,
)
from metaferry_runtime.repository.types.registry import TypeRegistry

AREAS: tuple[TypeArea, ...] = (
    catalog.AREA,
    infrastructure.AREA,
    files.AREA,
    database.AREA,
    api.AREA,
    topic.AREA,
    display.AREA,
    lineage.AREA,
    organization.AREA,
    security.AREA,
    analytics.AREA,
)


@cache
def default_registry() -> TypeRegistry:
    """The shared registry of every built-in type (built once; do not add types to it, make your own)."""
    return TypeRegistry(AREAS)


__all__ = [
    "AREAS",
    "ClassificationDef",
    "ElementTypeDef",
    "PropertyDef",
    "PropertyKind",
    "RelationshipTypeDef",
    "TypeArea",
    "TypeRegistry",
    "default_registry",
]
