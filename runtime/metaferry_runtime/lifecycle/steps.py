"""The lifecycle calls of one connector, in order, and what their outcomes do to its status.

`LifecycleSteps` is the half of the engine that sequences connector calls: the bring-up (broker, then
`configure_connector`'s order, then start and engage), one refresh, a failure (FAILED and the restart the
policy calls for), and the disconnect. `ConnectorRuntime` (engine.py) adds the public surface and the
supervision loop that decides, with the refresh scheduler and the restart policy, which step runs next.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from metaferry_runtime.audit import AuditLog, RuntimeMessages, SecretMasker
from metaferry_runtime.lifecycle.bringup import InitializeFailed, Misconfigured, assemble
from metaferry_runtime.lifecycle.calls import Abandoned, ConnectorCalls
from metaferry_runtime.lifecycle.configure import configure_connector
from metaferry_runtime.lifecycle.incarnation import Incarnation, RefreshOutcome
from metaferry_runtime.lifecycle.outcome import describe_error, refresh_record, summarise_refusals
from metaferry_runtime.lifecycle.requests import RequestOutcomes
from metaferry_runtime.lifecycle.restarts import RestartPolicy
from metaferry_runtime.lifecycle.scheduler import PendingRefresh, RefreshScheduler, StartedRefresh
from metaferry_runtime.lifecycle.status_tracker import StatusTracker
from metaferry_runtime.lifecycle.threads import CallRunner, run_on_thread
from metaferry_runtime.metrics import RuntimeMetrics
from metaferry_runtime.report import INVALID_CONFIGURATION, ConnectorStatus, RefreshRecord, RefreshResult
from metaferry_runtime.repository import MetadataRepository
from metaferry_runtime.resource import ArchiveRefusal, ConnectorResource, RefreshStatistics, format_duration
from metaferry_runtime.sdk import ConnectorConfigurationError, InvalidConfiguration


@dataclass(frozen=True)
class RuntimeSettings:
    """Runtime knobs that are not part of the resource (they concern the process, not the connector)."""

    shutdown_grace: timedelta = timedelta(seconds=10)
    engage_pause: timedelta = timedelta(seconds=1)
    remembered_request_ids: int = 256


class LifecycleSteps:
    """The state of one connector's lifecycle and the steps that change it; run only on the supervisor task."""

    def __init__(
        self,
        *,
        resource: ConnectorResource,
        repository: MetadataRepository,
        secured_properties: dict[str, str] | None = None,
        audit_log: AuditLog | None = None,
        masker: SecretMasker | None = None,
        metrics: RuntimeMetrics | None = None,
        settings: RuntimeSettings | None = None,
        call_runner: CallRunner[Any] = run_on_thread,
    ) -> None:
        self.resource = resource
        self.spec = resource.spec
        self.connector_name = resource.metadata.name
        self._repository = repository
        self._secured_properties = dict(secured_properties) if secured_properties is not None else None
        self.masker = masker or (audit_log.masker if audit_log else SecretMasker())
        self.masker.add((secured_properties or {}).values())
        self.audit_log = audit_log or AuditLog(
            "metaferry-runtime", connector_name=self.connector_name, masker=self.masker
        )
        self.metrics = metrics or RuntimeMetrics()
        self.settings = settings or RuntimeSettings()
        self._calls = ConnectorCalls(
            call_runner=call_runner,
            audit_log=self.audit_log,
            connector_name=self.connector_name,
            grace=self.settings.shutdown_grace,
        )

        self._status = StatusTracker(ConnectorStatus.STOPPED)
        self._status.on_change(self.metrics.status_changed)
        self._incarnation: Incarnation | None = None
        self._supervisor: asyncio.Task[None] | None = None  # what follows is the supervisor's (engine.py)
        self._brought_up = asyncio.Event()
        self._stopped = asyncio.Event()
        self._wakeup = asyncio.Event()
        self._stopping = False

        # What is due when: pure state, on the event loop's clock (read only while the loop runs).
        self._refreshes = RefreshScheduler(
            clock=_loop_time,
            wall_clock=lambda: datetime.now(UTC),
            remembered_request_ids=self.settings.remembered_request_ids,
        )
        self.refresh_requests = RequestOutcomes(self._refreshes, remembered=self.settings.remembered_request_ids)
        self._restarts = RestartPolicy(self.spec.auto_restart, clock=_loop_time)

        self.refresh_count = 0
        self.failed_refresh_count = 0
        self.restart_count = 0
        self._last_error: str | None = None
        self._last_failure_status: ConnectorStatus | None = None
        self._last_failure_reason: str | None = None
        self._last_refresh: RefreshRecord | None = None
        self._last_statistics = RefreshStatistics()
        self._archive_refused: ArchiveRefusal | None = None

    # --- lifecycle steps ------------------------------------------------------------------------------------
    async def _bring_up(self) -> bool:
        """Broker, then initialize, set_audit_log, set_connector_name, set_context (`configure_connector`'s
        order), then start (and engage); False when a step failed or shutdown cut the bring-up short."""
        if self._stopping:
            return False
        instance_id = str(uuid.uuid4())
        self.audit_log.log_message(
            "initialize",
            RuntimeMessages.CONNECTOR_INITIALIZING,
            connector_name=self.connector_name,
            instance_id=instance_id,
            permitted_synchronization=self.spec.permitted_synchronization.value,
        )

        try:
            assembled = await assemble(
                resource=self.resource,
                repository=self._repository,
                secured_properties=self._secured_properties,
                calls=self._calls,
                audit_log=self.audit_log,
                instance_id=instance_id,
            )
        except Abandoned:
            return False
        except InitializeFailed as failed:
            self._fail("initialize", failed.error, status=ConnectorStatus.INITIALIZE_FAILED)
            return False
        if isinstance(assembled, Misconfigured):
            self._record_failure(ConnectorStatus.CONFIG_FAILED, assembled.message)
            return False
        incarnation = self._incarnation = assembled
        connector, connector_log = incarnation.connector, self.audit_log.child(f"connector/{self.spec.connector}")

        def configure() -> None:
            configure_connector(
                connector,
                connection=incarnation.connection,
                instance_id=instance_id,
                audit_log=connector_log,
                connector_name=self.connector_name,
                context=incarnation.context,
            )

        if not await self._lifecycle_call("initialize", configure, failed_status=ConnectorStatus.CONFIG_FAILED):
            return False
        self._status.set(ConnectorStatus.INITIALIZED)
        if not await self._lifecycle_call("start", connector.start, failed_status=ConnectorStatus.FAILED):
            return False
        if self._stopping:
            return False
        interval = self.spec.refresh_period
        self.audit_log.log_message(
            "start",
            RuntimeMessages.CONNECTOR_STARTED,
            connector_name=self.connector_name,
            interval=format_duration(interval) if interval else "(never: only at start and on request)",
        )
        if self.spec.uses_blocking_calls:
            self._status.set(ConnectorStatus.RUNNING)
            incarnation.start_engage(
                on_failure=self._engage_failure_handler(incarnation),
                audit_log=self.audit_log.child("engage"),
                pause_seconds=self.settings.engage_pause.total_seconds(),
            )
        else:
            self._status.set(ConnectorStatus.WAITING)
        return True

    async def _lifecycle_call(self, method: str, call: Any, *, failed_status: ConnectorStatus) -> bool:
        """Run one step of the bring-up; False if it failed, or shutdown began or abandoned it."""
        if self._stopping:
            return False
        try:
            await self._calls.wait(method, call, timeout=self.spec.refresh_timeout.total_seconds())
        except Abandoned:
            return False
        except ConnectorConfigurationError as error:
            self._fail(method, error, status=ConnectorStatus.CONFIG_FAILED)
            return False
        except Exception as error:
            self._fail(method, error, status=failed_status)
            return False
        return True

    async def _refresh(self, started_refresh: StartedRefresh) -> RefreshRecord:
        incarnation = self._incarnation
        assert incarnation is not None
        pending = started_refresh.refresh
        self._calls.clear_interrupt()
        self._status.set(ConnectorStatus.REFRESHING)
        self.audit_log.log_message(
            "refresh",
            RuntimeMessages.REFRESH_STARTING,
            connector_name=self.connector_name,
            refresh_id=pending.refresh_id,
            trigger=pending.trigger,
        )
        loop = asyncio.get_running_loop()
        started_wall, started = datetime.now(UTC), loop.time()
        timeout = self.spec.refresh_timeout
        outcome = await incarnation.refresh(started_refresh, limit=timeout)
        duration = loop.time() - started
        self._refreshes.finished()
        record = self._finish_refresh(pending, started_wall, duration, outcome)
        error = outcome.error
        if self._stopping or self._incarnation is not incarnation:
            return record
        if error is None:
            self._restarts.succeeded()
            self._status.set(ConnectorStatus.RUNNING if self.spec.uses_blocking_calls else ConnectorStatus.WAITING)
        elif self._restarts.requested is not None:
            pass  # the supervisor restarts next; the abandoned refresh is already counted as failed
        elif outcome.result is RefreshResult.TIMED_OUT:
            self.audit_log.log_message(
                "refresh",
                RuntimeMessages.REFRESH_TIMED_OUT,
                connector_name=self.connector_name,
                refresh_id=pending.refresh_id,
                timeout=format_duration(timeout),
            )
            self._fail("refresh", error, audited=True)
        else:
            self._fail("refresh", error, refresh_id=pending.refresh_id)
        self._refreshes.schedule_after(self.spec.refresh_period)
        return record

    def _finish_refresh(
        self,
        pending: PendingRefresh,
        started: datetime,
        duration: float,
        outcome: RefreshOutcome,
    ) -> RefreshRecord:
        error, counts, refusals = outcome.error, outcome.counts, outcome.refusals
        record = refresh_record(
            pending,
            started=started,
            duration=duration,
            result=outcome.result,
            counts=counts,
            error=self._describe(error) if error else None,
            refusals=refusals,
        )
        self.refresh_count += 1
        if error is not None:
            self.failed_refresh_count += 1
        self._last_refresh = record
        self._last_statistics = record.statistics
        self.refresh_requests.ended(record)
        self._archive_refused = summarise_refusals(
            pending.refresh_id, refusals, connector_name=self.connector_name, mask=self.masker.mask
        )
        self.metrics.refresh_finished(result=outcome.result.value, duration=duration, counts=counts)
        if error is None:
            self.audit_log.log_message(
                "refresh",
                RuntimeMessages.REFRESH_COMPLETED,
                connector_name=self.connector_name,
                refresh_id=pending.refresh_id,
                elapsed_ms=round(duration * 1000),
                created=counts.created,
                updated=counts.updated,
                archived=counts.archived,
            )
        return record

    def _fail(
        self,
        method: str,
        error: BaseException,
        *,
        status: ConnectorStatus = ConnectorStatus.FAILED,
        refresh_id: str | None = None,
        audited: bool = False,
    ) -> None:
        """Mark the connector failed and schedule its automatic restart (unless the configuration is at fault)."""
        decision = self._restarts.failed(configuration_at_fault=status is ConnectorStatus.CONFIG_FAILED)
        if not audited:
            if status is ConnectorStatus.INITIALIZE_FAILED:
                message = RuntimeMessages.INITIALIZE_FAILED
            elif method == "refresh":
                message = RuntimeMessages.REFRESH_FAILED
            else:
                message = RuntimeMessages.CONNECTOR_FAILED
            self.audit_log.log_exception(
                method,
                message,
                error,
                connector_name=self.connector_name,
                method=method,
                refresh_id=refresh_id or "-",
                backoff=format_duration(decision.backoff) if decision.restart else "never (restart it by request)",
            )
        reason = INVALID_CONFIGURATION if isinstance(error, InvalidConfiguration) else None
        self._record_failure(status, self._describe(error), reason=reason)
        if decision.given_up:
            self.audit_log.log_message(
                "restart",
                RuntimeMessages.RESTARTS_EXHAUSTED,
                connector_name=self.connector_name,
                restart_count=decision.failures,
            )
        self._wakeup.set()

    def _record_failure(self, status: ConnectorStatus, message: str, *, reason: str | None = None) -> None:
        self._last_error = self.masker.mask(message)
        self._last_failure_status = status
        self._last_failure_reason = reason
        self._status.set(status)

    def _engage_failure_handler(self, incarnation: Incarnation) -> Any:
        loop = asyncio.get_running_loop()

        def on_failure(error: BaseException) -> None:
            def fail_on_loop() -> None:
                if self._incarnation is incarnation and not self._stopping:
                    self._fail("engage", error)

            loop.call_soon_threadsafe(fail_on_loop)

        return on_failure

    async def _disconnect(self, *, reason: str, deadline: float | None = None) -> bool:
        """Stop engage, make the context refuse use, and call disconnect(); both are waited for until `deadline`
        (loop time; the grace period from now when not given). False if there was no connector to disconnect."""
        incarnation, self._incarnation = self._incarnation, None
        if incarnation is None:
            return False
        if deadline is None:
            deadline = asyncio.get_running_loop().time() + self.settings.shutdown_grace.total_seconds()
        await incarnation.disconnect(
            reason=reason,
            deadline=deadline,
            grace=self.settings.shutdown_grace,
            bounded_by_shutdown=not self._stopping,  # shutdown's own disconnect has its own deadline
        )
        return True

    # --- helpers --------------------------------------------------------------------------------------------
    def _describe(self, error: BaseException) -> str:
        return describe_error(error, mask=self.masker.mask)


def _loop_time() -> float:
    return asyncio.get_running_loop().time()
