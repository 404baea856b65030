"""The connector broker: turns `spec.connector` into a connector instance.

A name is looked up as an entry point of group `metaferry.connectors` (how connector packages register
themselves), or imported as `module:Class`. Failures say what was looked for and what exists, because a
typo in a manifest is the most common reason a connector does not start.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from metaferry_runtime.sdk.connector import IntegrationConnector
from metaferry_runtime.sdk.errors import ConnectorConfigurationError

ENTRY_POINT_GROUP = "metaferry.connectors"


class ConnectorNotFound(ConnectorConfigurationError):
    pass


class NotAConnector(ConnectorConfigurationError):
    pass


def available_connectors() -> dict[str, str]:
    """Installed connector names and the `module:Class` each resolves to."""
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def resolve_connector_class(name: str) -> type[IntegrationConnector]:  # type: ignore[type-arg]
    """The connector class for an entry-point name or `module:Class`."""
    if ":" in name:
        module_name, _, attribute = name.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:
            raise ConnectorNotFound(f"cannot import module {module_name!r} for connector {name!r}: {error}") from error
        try:
            candidate = getattr(module, attribute)
        except AttributeError as error:
            raise ConnectorNotFound(f"module {module_name!r} has no attribute {attribute!r}") from error
    else:
        matches = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
        if not matches:
            known = ", ".join(sorted(available_connectors())) or "none"
            raise ConnectorNotFound(
                f"no connector named {name!r} in entry-point group {ENTRY_POINT_GROUP!r}; installed: {known}"
                " (or give module:Class)"
            )
        try:
            candidate = matches[0].load()
        except Exception as error:
            raise ConnectorNotFound(f"connector {name!r} ({matches[0].value}) failed to import: {error}") from error
    if not (isinstance(candidate, type) and issubclass(candidate, IntegrationConnector)):
        raise NotAConnector(
            f"{name!r} resolved to {candidate!r}, which is not a subclass of metaferry_runtime.sdk.IntegrationConnector"
        )
    return candidate


def create_connector(name: str) -> IntegrationConnector:  # type: ignore[type-arg]
    """A fresh, uninitialized instance of the named connector."""
    return resolve_connector_class(name)()
