"""The twelve integration-service contexts, one per Egeria integration service, and the factory the runtime uses.

Each service module declares its element types and offers Egeria-named methods over them (see
`_elements`); `create_context("files", **kwargs)` builds the context for a resource's
`integrationService`, with the keyword arguments of `IntegrationContext.__init__`.

Service modules are imported on first use: a runtime process runs one connector of one service, and some
services pull in heavy libraries (lineage imports openlineage), which would cost every pod start time and
memory for nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from metaferry_runtime.sdk.context import IntegrationContext

if TYPE_CHECKING:
    from metaferry_runtime.sdk.contexts._elements import ElementContext, ElementUpsert
    from metaferry_runtime.sdk.contexts.analytics import AnalyticsIntegratorContext
    from metaferry_runtime.sdk.contexts.api import APIIntegratorContext
    from metaferry_runtime.sdk.contexts.catalog import CatalogIntegratorContext, ExternalIdentifierLink
    from metaferry_runtime.sdk.contexts.database import DatabaseIntegratorContext
    from metaferry_runtime.sdk.contexts.display import DisplayIntegratorContext
    from metaferry_runtime.sdk.contexts.files import FilesIntegratorContext
    from metaferry_runtime.sdk.contexts.infrastructure import InfrastructureIntegratorContext
    from metaferry_runtime.sdk.contexts.lineage import CataloguedRun, LineageIntegratorContext
    from metaferry_runtime.sdk.contexts.organization import OrganizationIntegratorContext
    from metaferry_runtime.sdk.contexts.search import SearchIntegratorContext
    from metaferry_runtime.sdk.contexts.security import SecurityIntegratorContext
    from metaferry_runtime.sdk.contexts.topic import TopicIntegratorContext

#: Integration service -> (module, class) of its context.
CONTEXT_LOCATIONS: dict[str, tuple[str, str]] = {
    "analytics": ("analytics", "AnalyticsIntegratorContext"),
    "api": ("api", "APIIntegratorContext"),
    "catalog": ("catalog", "CatalogIntegratorContext"),
    "database": ("database", "DatabaseIntegratorContext"),
    "display": ("display", "DisplayIntegratorContext"),
    "files": ("files", "FilesIntegratorContext"),
    "infrastructure": ("infrastructure", "InfrastructureIntegratorContext"),
    "lineage": ("lineage", "LineageIntegratorContext"),
    "organization": ("organization", "OrganizationIntegratorContext"),
    "search": ("search", "SearchIntegratorContext"),
    "security": ("security", "SecurityIntegratorContext"),
    "topic": ("topic", "TopicIntegratorContext"),
}

_EXPORTS: dict[str, str] = {
    **{class_name: module for module, class_name in CONTEXT_LOCATIONS.values()},
    "ElementContext": "_elements",
    "ElementUpsert": "_elements",
    "ExternalIdentifierLink": "catalog",
    "CataloguedRun": "lineage",
}


def context_class(service: str) -> type[IntegrationContext]:
    """The context class of an integration service; ValueError names the services that exist."""
    try:
        module, class_name = CONTEXT_LOCATIONS[service]
    except KeyError:
        known = ", ".join(sorted(CONTEXT_LOCATIONS))
        raise ValueError(f"unknown integration service {service!r}; the services are: {known}") from None
    found: type[IntegrationContext] = getattr(importlib.import_module(f"{__name__}.{module}"), class_name)
    return found


def create_context(service: str, **kwargs: Any) -> IntegrationContext:
    """The context of the named integration service, built with `IntegrationContext`'s keyword arguments."""
    return context_class(service)(**kwargs)


def __getattr__(name: str) -> Any:
    if name == "CONTEXT_CLASSES":
        return {service: context_class(service) for service in CONTEXT_LOCATIONS}
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CONTEXT_LOCATIONS",
    "APIIntegratorContext",
    "AnalyticsIntegratorContext",
    "CatalogIntegratorContext",
    "CataloguedRun",
    "DatabaseIntegratorContext",
    "DisplayIntegratorContext",
    "ElementContext",
    "ElementUpsert",
    "ExternalIdentifierLink",
    "FilesIntegratorContext",
    "InfrastructureIntegratorContext",
    "LineageIntegratorContext",
    "OrganizationIntegratorContext",
    "SearchIntegratorContext",
    "SecurityIntegratorContext",
    "TopicIntegratorContext",
    "context_class",
    "create_context",
]
