"""`metaferry-runtime check`: test the connection step by step and do a dry-run refresh that is rolled back.

Users of DataHub and OpenMetadata asked for exactly this: a way to see which part works before anything is
written. Each step is reported with what went wrong; nothing is committed to the repository. Every step's
detail passes through the secret masker as it is made: a failing step usually quotes an exception, and a
connector's exception text is where a password most often shows up.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from metaferry_runtime.audit import AuditLog, SecretMasker
from metaferry_runtime.lifecycle.assembly import connection_for, context_for
from metaferry_runtime.lifecycle.configure import configure_connector
from metaferry_runtime.repository import ChangeCounts, FailSafeRefusal, MetadataRepository
from metaferry_runtime.resource import ConnectorResource
from metaferry_runtime.sdk import (
    Diagnosis,
    IntegrationConnector,
    IntegrationContext,
    InvalidConfiguration,
    validate_configuration,
)
from metaferry_runtime.sdk.broker import create_connector
from metaferry_runtime.secured import SecretsNotMounted, require_secured_properties

#: The last step: a check that reached it took every step.
DRY_RUN_STEP = "dry-run refresh"


@dataclass
class CheckStep:
    name: str
    ok: bool
    detail: str


#: What a kubelet keeps of a container's termination message, where a check run in a pod leaves its result.
TERMINATION_MESSAGE_LIMIT = 4096


def check_passed(steps: Sequence[CheckStep]) -> bool:
    """Every step ok, and the last one reached (a check stops at its first failed step)."""
    return bool(steps) and steps[-1].name == DRY_RUN_STEP and all(step.ok for step in steps)


def result_document(steps: Sequence[CheckStep], *, limit: int = TERMINATION_MESSAGE_LIMIT) -> str:
    """The steps as one JSON object, `{"passed": ..., "steps": [{name, ok, detail}]}`, within `limit` bytes:
    details are shortened until it fits, so the steps themselves always reach the reader."""
    for keep in (None, 400, 200, 100, 40, 0):
        shortened = [
            asdict(step)
            | {"detail": step.detail if keep is None or len(step.detail) <= keep else step.detail[:keep] + "…"}
            for step in steps
        ]
        document = json.dumps({"passed": check_passed(steps), "steps": shortened}, ensure_ascii=False)
        if len(document.encode()) <= limit:
            return document
    return json.dumps({"passed": check_passed(steps), "steps": [], "truncated": True})


class _DryRunRollback(Exception):
    """Raised inside the refresh batch to roll back a dry-run refresh after counting its changes."""


def check_connector(
    resource: ConnectorResource,
    repository: MetadataRepository,
    secured_properties: dict[str, str] | None,
    *,
    masker: SecretMasker | None = None,
) -> list[CheckStep]:
    """The steps in order, stopping at the first that fails (except the dry-run refresh, which is last).
    `secured_properties` is None when no secrets directory was given."""
    masker = masker or SecretMasker()
    masker.add((secured_properties or {}).values())
    steps: list[CheckStep] = []

    def step(name: str, ok: bool, detail: str) -> list[CheckStep]:
        steps.append(CheckStep(name, ok, masker.mask(detail)))
        return steps

    step("manifest", True, f"{resource.metadata.namespace}/{resource.metadata.name} is valid")
    spec = resource.spec
    try:
        connector = create_connector(spec.connector)
    except Exception as error:
        return step("connector", False, str(error))
    step("connector", True, f"{spec.connector} -> {type(connector).__module__}.{type(connector).__name__}")
    model = type(connector).configuration_model
    properties = spec.connection.configuration_properties
    if model is not None:
        try:
            validate_configuration(model, properties)
        except InvalidConfiguration as error:
            return step("configuration", False, "; ".join(error.problems))
        step("configuration", True, f"{len(properties)} configuration properties match {model.__name__}")
    try:
        secrets = require_secured_properties(resource, secured_properties)
    except SecretsNotMounted as error:
        return step("secrets", False, str(error))
    step("secrets", True, f"{len(secrets)} secured properties")
    try:
        context = context_for(resource, repository)
    except Exception as error:
        return step("context", False, f"{type(error).__name__}: {error}")
    step("context", True, f"{spec.integration_service.value} context over {repository.url}")
    connection = connection_for(resource, secrets)
    try:
        audit_log = AuditLog("metaferry-runtime", connector_name=resource.metadata.name, masker=masker)
        configure_connector(
            connector,
            connection=connection,
            instance_id=str(uuid.uuid4()),
            audit_log=audit_log.child(f"connector/{spec.connector}"),
            connector_name=resource.metadata.name,
            context=context,
        )
    except Exception as error:
        return step("configure", False, f"{type(error).__name__}: {error}")
    try:
        _diagnose_start_and_refresh(connector, context, step)
    finally:
        context.disconnect()
        connector.disconnect()
    return steps


def _diagnose_start_and_refresh(
    connector: IntegrationConnector[Any], context: IntegrationContext, step: Callable[[str, bool, str], object]
) -> None:
    """The connector's own steps (`diagnose`), start, and the dry-run refresh, stopping at a failed step."""
    try:
        diagnoses = list(connector.diagnose())
    except Exception as error:
        diagnoses = [Diagnosis("diagnose", False, f"{type(error).__name__}: {error}")]
    for diagnosis in diagnoses:
        step(diagnosis.name, diagnosis.ok, diagnosis.detail)
    if not all(diagnosis.ok for diagnosis in diagnoses):
        return
    try:
        connector.start()
    except Exception as error:
        step("start", False, f"{type(error).__name__}: {error}")
        return
    step("start", True, "configured in the runtime's order and started")
    counts = ChangeCounts()
    refusals: list[FailSafeRefusal] = []
    try:
        with context.refresh_batch(f"dry-run-{uuid.uuid4().hex[:8]}") as batch:
            connector.refresh()
            counts, refusals = batch.transaction.counts.model_copy(), list(batch.archive_refusals)
            raise _DryRunRollback()
    except _DryRunRollback:
        refused = ""
        if refusals:
            would = sum(refusal.would_archive for refusal in refusals)
            in_scope = sum(refusal.in_scope for refusal in refusals)
            refused = (
                f"; the deletion fail-safe would refuse to archive {would} of the {in_scope} elements in scope"
                " (confirm the archive or raise maxArchivePercent)"
            )
        step(
            DRY_RUN_STEP,
            True,
            f"would create {counts.created}, update {counts.updated}, archive"
            f" {counts.archived + counts.would_archive}{refused}; nothing was written",
        )
    except Exception as error:
        step(DRY_RUN_STEP, False, f"{type(error).__name__}: {error}")
