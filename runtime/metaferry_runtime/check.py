"""`metaferry-runtime check`: test the connection step by step and do a dry-run refresh that is rolled back.

Users of DataHub and OpenMetadata asked for exactly this: a way to see which part works before anything is
written. Each step is reported with what went wrong; nothing is committed to the repository.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from metaferry_runtime.audit import AuditLog, SecretMasker
from metaferry_runtime.lifecycle.assembly import connection_for, context_for
from metaferry_runtime.lifecycle.configure import configure_connector
from metaferry_runtime.repository import ChangeCounts, MetadataRepository
from metaferry_runtime.resource import IntegrationConnector as ConnectorResource
from metaferry_runtime.sdk.broker import create_connector


@dataclass
class CheckStep:
    name: str
    ok: bool
    detail: str


class _DryRunRollback(Exception):
    """Raised inside the refresh batch to roll back a dry-run refresh after counting its changes."""


def check_connector(
    resource: ConnectorResource, repository: MetadataRepository, secured_properties: dict[str, str]
) -> list[CheckStep]:
    steps: list[CheckStep] = [
        CheckStep("manifest", True, f"{resource.metadata.namespace}/{resource.metadata.name} is valid")
    ]
    spec = resource.spec
    try:
        connector = create_connector(spec.connector)
    except Exception as error:
        return [*steps, CheckStep("connector", False, str(error))]
    steps.append(
        CheckStep("connector", True, f"{spec.connector} -> {type(connector).__module__}.{type(connector).__name__}")
    )
    steps.append(CheckStep("secrets", True, f"{len(secured_properties)} secured properties"))
    try:
        context = context_for(resource, repository)
    except Exception as error:
        return [*steps, CheckStep("context", False, f"{type(error).__name__}: {error}")]
    steps.append(CheckStep("context", True, f"{spec.integration_service.value} context over {repository.url}"))
    connection = connection_for(resource, secured_properties)
    try:
        audit_log = AuditLog(
            "metaferry-runtime", connector_name=resource.metadata.name, masker=SecretMasker(secured_properties.values())
        )
        configure_connector(
            connector,
            connection=connection,
            instance_id=str(uuid.uuid4()),
            audit_log=audit_log.child(f"connector/{spec.connector}"),
            connector_name=resource.metadata.name,
            context=context,
        )
        connector.start()
    except Exception as error:
        return [*steps, CheckStep("start", False, f"{type(error).__name__}: {error}")]
    steps.append(CheckStep("start", True, "configured in the runtime's order and started"))
    counts = ChangeCounts()
    try:
        with context.refresh_batch(f"dry-run-{uuid.uuid4().hex[:8]}") as batch:
            connector.refresh()
            counts = batch.transaction.counts.model_copy()
            raise _DryRunRollback()
    except _DryRunRollback:
        steps.append(
            CheckStep(
                "dry-run refresh",
                True,
                f"would create {counts.created}, update {counts.updated}, archive"
                f" {counts.archived + counts.would_archive}; nothing was written",
            )
        )
    except Exception as error:
        steps.append(CheckStep("dry-run refresh", False, f"{type(error).__name__}: {error}"))
    finally:
        context.disconnect()
        connector.disconnect()
    return steps
