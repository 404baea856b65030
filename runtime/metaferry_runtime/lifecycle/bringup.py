"""What comes before the connector's own lifecycle calls: broker it, read its secrets, build its context.

`assemble` returns the new incarnation, or what in the configuration stops it (audited here, and left
CONFIG_FAILED by the engine until a restart request); connector code that fails raises `InitializeFailed`.
The engine then makes the lifecycle calls on it in `configure_connector`'s order, then start().
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from metaferry_runtime.audit import AuditLog, RuntimeMessages
from metaferry_runtime.lifecycle.assembly import connection_for, context_for
from metaferry_runtime.lifecycle.calls import Abandoned, ConnectorCalls
from metaferry_runtime.lifecycle.configure import build_connector
from metaferry_runtime.lifecycle.incarnation import Incarnation
from metaferry_runtime.repository import MetadataRepository
from metaferry_runtime.resource import ConnectorResource
from metaferry_runtime.sdk import ConnectorConfigurationError, IntegrationConnector
from metaferry_runtime.sdk.broker import NotAConnector
from metaferry_runtime.secured import SecretsNotMounted, require_secured_properties


@dataclass(frozen=True)
class Misconfigured:
    """The resource cannot be started as it is (no such connector, secrets not mounted): audited already."""

    message: str


class InitializeFailed(Exception):
    """The connector's module or constructor raised (or hung past refreshTimeout), or its context could not
    be built: a failure like any other, restarted with backoff."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


async def assemble(
    *,
    resource: ConnectorResource,
    repository: MetadataRepository,
    secured_properties: dict[str, str] | None,
    calls: ConnectorCalls,
    audit_log: AuditLog,
    instance_id: str,
) -> Incarnation | Misconfigured:
    """A new incarnation: its connector brokered (on a worker thread, since it is connector code: its
    module's import, its constructor), its connection with the secured properties, and its context.
    Raises `Abandoned` when shutdown leaves the constructor behind."""
    spec = resource.spec
    name = resource.metadata.name
    try:
        timeout = spec.refresh_timeout.total_seconds()
        connector: IntegrationConnector[Any] = await calls.wait(
            "__init__", lambda: build_connector(spec), timeout=timeout
        )
    except Abandoned:
        raise
    except ConnectorConfigurationError as error:
        message = (
            RuntimeMessages.NOT_AN_INTEGRATION_CONNECTOR
            if isinstance(error, NotAConnector)
            else RuntimeMessages.CONNECTOR_NOT_FOUND
        )
        audit_log.log_message("initialize", message, connector=spec.connector, reason=str(error), resolved=str(error))
        return Misconfigured(str(error))
    except Exception as error:
        raise InitializeFailed(error) from error
    try:
        secrets = require_secured_properties(resource, secured_properties)
    except SecretsNotMounted as error:
        audit_log.log_message("initialize", RuntimeMessages.SECRETS_NOT_MOUNTED, connector_name=name, reason=str(error))
        return Misconfigured(str(error))
    try:
        context = context_for(
            resource, repository, audit_log=audit_log.child(f"context/{spec.integration_service.value}")
        )
    except Exception as error:
        raise InitializeFailed(error) from error
    return Incarnation(
        instance_id=instance_id,
        connector=connector,
        context=context,
        connection=connection_for(resource, secrets),
        calls=calls,
        audit_log=audit_log,
        connector_name=name,
    )
