"""The one place that fixes the order in which a connector is configured before start().

The engine, `metaferry-runtime check` and the connector test kit all call this function, so a connector
that works under one of them sees the same calls, in the same order, under the others.
"""

from __future__ import annotations

from typing import Any

from metaferry_runtime.audit import AuditLog
from metaferry_runtime.sdk.configuration import validate_configuration
from metaferry_runtime.sdk.connector import IntegrationConnector
from metaferry_runtime.sdk.targets import validate_catalog_targets


def configure_connector(
    connector: IntegrationConnector[Any],
    *,
    connection: Any,
    instance_id: str,
    audit_log: AuditLog,
    connector_name: str,
    context: Any,
) -> None:
    """Validate the configuration properties and the catalog targets' properties against the connector's
    models (InvalidConfiguration), then initialize, set_audit_log, set_connector_name, set_context: the
    order the SDK documents."""
    model = type(connector).configuration_model
    if model is not None:
        connector.accept_configuration(validate_configuration(model, connection.configuration_properties))
    target_model = type(connector).catalog_target_model
    if target_model is not None:
        context.accept_catalog_targets(validate_catalog_targets(target_model, context.get_catalog_targets()))
    connector.initialize(connection, instance_id)
    connector.set_audit_log(audit_log)
    connector.set_connector_name(connector_name)
    connector.set_context(context)
