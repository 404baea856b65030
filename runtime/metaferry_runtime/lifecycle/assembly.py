"""What a resource turns into for its connector: the Connection and the integration-service context.

Both the lifecycle engine and `metaferry-runtime check` build them; one place keeps the two identical.
"""

from __future__ import annotations

from pydantic import SecretStr

from metaferry_runtime.audit import AuditLog
from metaferry_runtime.repository import MetadataRepository
from metaferry_runtime.resource import ConnectorResource
from metaferry_runtime.sdk import Connection, IntegrationContext
from metaferry_runtime.sdk.contexts import create_context
from metaferry_runtime.sdk.targets import CatalogTarget


def connection_for(resource: ConnectorResource, secured_properties: dict[str, str]) -> Connection:
    spec = resource.spec.connection
    return Connection(
        endpoint=spec.endpoint,
        configuration_properties=dict(spec.configuration_properties),
        secured_properties={key: SecretStr(value) for key, value in secured_properties.items()},
    )


def context_for(
    resource: ConnectorResource, repository: MetadataRepository, *, audit_log: AuditLog | None = None
) -> IntegrationContext:
    """The context of the resource's integration service, acting as its metadata source."""
    spec = resource.spec
    return create_context(
        spec.integration_service.value,
        repository=repository,
        connector_name=resource.metadata.name,
        metadata_source_qualified_name=resource.metadata_source_qualified_name,
        permitted_synchronization=spec.permitted_synchronization,
        catalog_targets=[
            CatalogTarget(name=target.name, configuration_properties=dict(target.configuration_properties))
            for target in spec.catalog_targets
        ],
        deletion_detection=spec.deletion_detection,
        audit_log=audit_log,
        listener_port=spec.listener_port,
    )
