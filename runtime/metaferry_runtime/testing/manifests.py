"""The IntegrationConnector resource a test runs a connector with, from a file, a mapping or a few spec fields.

A test usually cares about two or three fields (the endpoint, a configuration property, the catalog targets);
the rest is filled in so that the result is the resource the runtime would load, validated by the same
models, so a test cannot run a connector with a manifest the runtime would refuse.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from metaferry_runtime.resource import ConnectorResource, IntegrationConnectorSpec, load_manifest
from metaferry_runtime.resource.manifest import parse_manifest
from metaferry_runtime.sdk import IntegrationConnector

#: A manifest as a test gives it: a YAML file, a decoded document, or a loaded resource.
Manifest = str | Path | Mapping[str, Any] | ConnectorResource

DEFAULT_NAME = "under-test"


def connector_reference(connector_class: type[IntegrationConnector[Any]]) -> str:
    """`module:Class`, the form of `spec.connector` the broker imports. A class defined inside a function or
    another class is not found there: the harness runs it all the same, but `run` and `check` cannot."""
    return f"{connector_class.__module__}:{connector_class.__name__}"


def build_manifest(
    connector_class: type[IntegrationConnector[Any]],
    manifest: Manifest | None = None,
    *,
    endpoint: str | Path | None = None,
    configuration_properties: Mapping[str, Any] | None = None,
    **spec_fields: Any,
) -> ConnectorResource:
    """The resource: `manifest` (if any) with `endpoint`, `configuration_properties` and other spec fields
    (snake_case, e.g. `catalog_targets=[...]`, `deletion_detection=DeletionDetection(...)`) laid over it.

    Without a manifest the name is `under-test`, the service is the connector's `integration_service`, and
    `spec.connector` names the class as `module:Class`. ManifestError says what is wrong, as `run` does.
    """
    document = _document(manifest)
    document.setdefault("apiVersion", "metaferry.io/v1alpha1")
    document.setdefault("kind", "IntegrationConnector")
    document.setdefault("metadata", {"name": DEFAULT_NAME})
    spec: dict[str, Any] = dict(document.get("spec") or {})
    spec.setdefault("connector", connector_reference(connector_class))
    if connector_class.integration_service is not None:
        spec.setdefault("integrationService", connector_class.integration_service)
    connection: dict[str, Any] = dict(spec.get("connection") or {})
    if endpoint is not None:
        connection["endpoint"] = str(endpoint)
    if configuration_properties is not None:
        connection["configurationProperties"] = dict(configuration_properties)
    spec["connection"] = connection
    fields = IntegrationConnectorSpec.model_fields
    for name, value in spec_fields.items():
        if name not in fields:
            raise TypeError(
                f"{name!r} is not a field of IntegrationConnector.spec; the fields are: {', '.join(fields)}"
            )
        if value is not None:
            spec[fields[name].alias or name] = _wire(value)
    document["spec"] = spec
    return parse_manifest(document, source=_source(manifest))


def _document(manifest: Manifest | None) -> dict[str, Any]:
    if manifest is None:
        return {}
    if isinstance(manifest, ConnectorResource):
        return manifest.to_wire()
    if isinstance(manifest, str | Path):
        return load_manifest(manifest).to_wire()
    return {key: value for key, value in manifest.items() if key != "status"}


def _source(manifest: Manifest | None) -> str:
    return str(manifest) if isinstance(manifest, str | Path) else "the test's manifest"


def _wire(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_none=True)
    if isinstance(value, list | tuple):
        return [_wire(item) for item in value]
    return value
