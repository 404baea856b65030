"""Catalog targets as the context hands them to a connector: a name, its own properties, and their model.

A connector that takes settings per target (other filters for one schema, other headers for one URL)
declares `catalog_target_model`; the runtime validates every target's `configurationProperties` against it
before initialize, as it does `configuration_model`, so a wrong value fails the connector at once
(InvalidConfiguration naming `spec.catalogTargets[i].configurationProperties...`) rather than midway through
a refresh, and the connector reads `target.configuration`, already typed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from metaferry_runtime.sdk.configuration import ConnectorConfiguration, validate_configuration
from metaferry_runtime.sdk.errors import InvalidConfiguration


@dataclass(frozen=True)
class CatalogTarget:
    """One of the resource's catalogTargets (Egeria's CatalogTarget: its name and configuration properties)."""

    name: str
    configuration_properties: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    #: The properties as the connector's `catalog_target_model`, or None when it declares none.
    configuration: Any = None

    @classmethod
    def of(cls, entry: CatalogTarget | str) -> CatalogTarget:
        """A target from its short form (a name) or itself."""
        return entry if isinstance(entry, CatalogTarget) else cls(name=entry)


def validate_catalog_targets(
    model: type[ConnectorConfiguration], targets: Iterable[CatalogTarget]
) -> list[CatalogTarget]:
    """Each target with `configuration` set to its properties as `model`; InvalidConfiguration lists every
    problem of every target, each with its key path in the manifest."""
    validated: list[CatalogTarget] = []
    problems: list[str] = []
    for index, target in enumerate(targets):
        path = f"spec.catalogTargets[{index}].configurationProperties"
        try:
            configuration = validate_configuration(model, target.configuration_properties, path=path)
        except InvalidConfiguration as error:
            problems.extend(f"{problem} (target {target.name!r})" for problem in error.problems)
            continue
        validated.append(replace(target, configuration=configuration))
    if problems:
        raise InvalidConfiguration(problems)
    return validated
