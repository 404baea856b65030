"""The lifecycle engine of one connector: Egeria's integration connector handler, made recoverable.

One asyncio task (the supervisor: `_run`, the bring-up then `_supervise`) owns every state change, so the rules
are easy to check:

- lifecycle order: broker -> initialize -> set_audit_log -> set_connector_name -> set_context (INITIALIZED)
  -> start (WAITING, or RUNNING with the engage thread for blocking connectors);
- refresh at start, every `refreshInterval` after the previous refresh ended, and on request; never two at
  once; requests that arrive while a refresh runs coalesce into exactly one more; each refresh is one
  repository transaction and is abandoned (reported as failed, its transaction aborted at once so that its
  locks cannot hold up the next refresh) after `refreshTimeout`;
- failure -> FAILED, then an automatic restart (disconnect, initialize again) after a capped exponential
  backoff, counted in the report; CONFIG_FAILED waits for a restart request (the configuration must change);
- shutdown never hangs: one deadline, the grace period, bounds every wait on connector code (initialize,
  start, refresh, engage, a restart's disconnect); what is still running then is abandoned and logged by name,
  disconnect() gets what is left (at least DISCONNECT_MINIMUM_SECONDS), and the context refuses use.

Connector code runs on worker threads (see `threads.py`) so the HTTP API answers during a refresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from metaferry_runtime.audit import AuditLog, RuntimeMessages, SecretMasker
from metaferry_runtime.lifecycle.assembly import connection_for, context_for
from metaferry_runtime.lifecycle.backoff import Backoff
from metaferry_runtime.lifecycle.configure import configure_connector
from metaferry_runtime.lifecycle.engage import EngageThread
from metaferry_runtime.lifecycle.memory import release_free_memory
from metaferry_runtime.lifecycle.status import StatusTracker
from metaferry_runtime.lifecycle.threads import CallRunner, run_on_thread
from metaferry_runtime.metrics import RuntimeMetrics
from metaferry_runtime.report import (
    INVALID_CONFIGURATION,
    ConnectorReport,
    ConnectorStatus,
    RefreshAccepted,
    RefreshRecord,
    RefreshResult,
)
from metaferry_runtime.repository import ChangeCounts, FailSafeRefusal, MetadataRepository
from metaferry_runtime.resource import ArchiveRefusal, RefreshStatistics, format_duration
from metaferry_runtime.resource import IntegrationConnector as ConnectorResource
from metaferry_runtime.sdk import (
    ConnectorConfigurationError,
    IntegrationConnector,
    IntegrationContext,
    InvalidConfiguration,
)
from metaferry_runtime.sdk.broker import NotAConnector, create_connector
from metaferry_runtime.secured import SecretsNotMounted, require_secured_properties

T = TypeVar("T")
HEALTHY = (ConnectorStatus.WAITING, ConnectorStatus.REFRESHING, ConnectorStatus.RUNNING)
MAX_ERRORS_IN_REPORT = 10
# disconnect() is called even when running work used up the grace, and given this long at least.
DISCONNECT_MINIMUM_SECONDS = 0.5
# How long after the grace shutdown waits for the supervisor to notice the abandonment before cancelling it.
SUPERVISOR_SLACK_SECONDS = 1.0


class RefreshRefused(Exception):
    """A refresh cannot be queued now (shutting down, or the configuration is broken)."""


@dataclass(frozen=True)
class RuntimeSettings:
    """Runtime knobs that are not part of the resource (they concern the process, not the connector)."""

    shutdown_grace: timedelta = timedelta(seconds=10)
    engage_pause: timedelta = timedelta(seconds=1)
    remembered_request_ids: int = 256


@dataclass
class _PendingRefresh:
    refresh_id: str
    trigger: str


@dataclass
class _Incarnation:
    """One initialized instance of the connector; a restart makes a new one."""

    instance_id: str
    connector: IntegrationConnector[Any]
    context: IntegrationContext
    engage_thread: EngageThread | None = None


class ConnectorRuntime:
    """Runs the connector described by one IntegrationConnector resource.

    `secured_properties` is None when no secrets directory was given: a resource naming a `secretRef` is then
    CONFIG_FAILED rather than started without its credentials. `masker` is shared with the log handler.
    """

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
        self._call = call_runner
        self._backoff = Backoff(self.spec.auto_restart.initial_backoff, self.spec.auto_restart.max_backoff)

        self._status = StatusTracker(ConnectorStatus.STOPPED)
        self._status.on_change(self.metrics.status_changed)
        self._incarnation: _Incarnation | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._wakeup = asyncio.Event()
        self._interrupt = asyncio.Event()
        self._stopping = False
        self._shutdown_began = asyncio.Event()
        self._shutdown_deadline: float | None = None  # loop time
        self._brought_up = asyncio.Event()
        self._stopped = asyncio.Event()

        self._pending: _PendingRefresh | None = None
        self._running: _PendingRefresh | None = None
        self._request_ids: OrderedDict[tuple[str, bool], str] = OrderedDict()  # (id, confirms archive) -> refresh
        self._archive_confirmed = False  # the next refresh to start may archive past the fail-safe
        self._restart_requested: str | None = None
        self._restart_at: float | None = None
        self._next_refresh_at: float | None = None  # loop time, for scheduling
        self._next_refresh_wall: datetime | None = None  # wall-clock time, for the report

        self.refresh_count = 0
        self.failed_refresh_count = 0
        self.restart_count = 0
        self._consecutive_failures = 0
        self._last_error: str | None = None
        self._last_failure_status: ConnectorStatus | None = None
        self._last_failure_reason: str | None = None
        self._last_refresh: RefreshRecord | None = None
        self._last_statistics = RefreshStatistics()
        self._archive_refused: ArchiveRefusal | None = None

    # --- public surface (HTTP API, CLI) ---------------------------------------------------------------------
    @property
    def status(self) -> ConnectorStatus:
        return self._status.status

    @property
    def last_failure_status(self) -> ConnectorStatus | None:
        """The failed status the connector was last in; a report taken after shutdown says DISCONNECTED."""
        return self._last_failure_status

    @property
    def is_ready(self) -> bool:
        """Ready = the connector started and is not failed; what `/readyz` reports."""
        return self._status.status in HEALTHY and not self._stopping

    def launch(self) -> asyncio.Task[None]:
        """Begin the lifecycle on the supervisor task and return at once.

        Why: the process must be listening for SIGTERM while initialize() or start() runs, since either may
        hang; shutdown then abandons whichever call is running.
        """
        if self._supervisor is None:
            self.audit_log.log_message(
                "start",
                RuntimeMessages.RUNTIME_STARTING,
                connector_name=self.connector_name,
                connector=self.spec.connector,
                service=self.spec.integration_service.value,
            )
            self._supervisor = asyncio.create_task(self._run(), name=f"metaferry-supervisor-{self.connector_name}")
        return self._supervisor

    async def start(self) -> None:
        """Launch the lifecycle; returns once the first lifecycle pass is done (or shutdown cut it short)."""
        supervisor = self.launch()
        brought_up = asyncio.ensure_future(self._brought_up.wait())
        try:
            await asyncio.wait({supervisor, brought_up}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            brought_up.cancel()
        if supervisor.done() and not supervisor.cancelled():
            supervisor.result()  # a failure of the runtime's own reaches the caller

    async def run_once(self) -> RefreshRecord | None:
        """Start, refresh once, disconnect: the CLI's `--once`. None if the connector never came up."""
        await self._bring_up(trigger="start")
        record = None
        if self._pending is not None and self.is_ready:
            record = await self._refresh(self._take_pending())
        await self.shutdown(reason="single refresh finished")
        return record

    def request_refresh(
        self, request_id: str | None = None, *, trigger: str = "request", confirm_archive: bool = False
    ) -> RefreshAccepted:
        """Queue a refresh; idempotent per `request_id` (the operator's annotation value).

        `confirm_archive`: a user confirmed what the deletion fail-safe refused, so the next refresh to start
        archives past it, once. The confirmation waits for that refresh (a running one keeps its own rules);
        requests that confirm and requests that do not are told apart, even with one `request_id`.
        """
        key = (request_id, confirm_archive) if request_id is not None else None
        if key is not None and key in self._request_ids:
            refresh_id = self._request_ids[key]
            queued = self._pending is not None and self._pending.refresh_id == refresh_id
            return RefreshAccepted(refresh_id=refresh_id, queued=queued, archive_confirmed=confirm_archive)
        if self._stopping:
            raise RefreshRefused("the runtime is shutting down")
        if self._status.status is ConnectorStatus.CONFIG_FAILED:
            raise RefreshRefused(f"the connector's configuration is invalid: {self._last_error}")
        queued = self._running is not None
        if self._pending is None:
            self._pending = _PendingRefresh(refresh_id=_new_id(), trigger=trigger)
        refresh_id = self._pending.refresh_id
        if confirm_archive:
            self._archive_confirmed = True
        if key is not None:
            self._request_ids[key] = refresh_id
            while len(self._request_ids) > self.settings.remembered_request_ids:
                self._request_ids.popitem(last=False)
        self.audit_log.log_message(
            "request refresh",
            RuntimeMessages.REFRESH_REQUESTED,
            connector_name=self.connector_name,
            refresh_id=refresh_id,
            queued="; it runs after the refresh in progress" if queued else "",
        )
        self._wakeup.set()
        return RefreshAccepted(refresh_id=refresh_id, queued=queued, archive_confirmed=confirm_archive)

    def request_restart(self, reason: str = "requested") -> int:
        """Disconnect and initialize again, abandoning a running refresh; returns the restart number to come."""
        if self._stopping:
            raise RefreshRefused("the runtime is shutting down")
        self._restart_requested = reason
        self._consecutive_failures = 0
        self._interrupt.set()
        self._wakeup.set()
        return self.restart_count + 1

    async def shutdown(self, *, reason: str = "shutdown") -> None:
        """Stop within the grace period (plus DISCONNECT_MINIMUM_SECONDS), whatever the connector is doing.

        Running calls may finish until the grace ends; then `_await_call` abandons them, so the supervisor
        returns; disconnect() and the engage thread get what is left of the grace.
        """
        if self._stopping and self._stopped.is_set():
            return
        loop = asyncio.get_running_loop()
        grace = self.settings.shutdown_grace.total_seconds()
        self._stopping = True
        self._shutdown_deadline = loop.time() + grace
        self._shutdown_began.set()
        self._wakeup.set()
        supervisor = self._supervisor
        if supervisor is not None and not supervisor.done():
            await asyncio.wait({supervisor}, timeout=grace + SUPERVISOR_SLACK_SECONDS)
            if not supervisor.done():  # waiting on something other than connector code: the last resort
                supervisor.cancel()
                await asyncio.gather(supervisor, return_exceptions=True)
        deadline = max(self._shutdown_deadline, loop.time() + DISCONNECT_MINIMUM_SECONDS)
        if not await self._disconnect(reason=reason, deadline=deadline):  # it never came up: say it is over
            self.audit_log.log_message("disconnect", RuntimeMessages.DISCONNECTED, connector_name=self.connector_name)
        self._status.set(ConnectorStatus.DISCONNECTED)
        self._stopped.set()
        if supervisor is not None and not supervisor.cancelled():
            supervisor.result()  # a failure of the runtime's own is not hidden by the shutdown

    async def wait_stopped(self) -> None:
        await self._stopped.wait()

    def report(self) -> ConnectorReport:
        incarnation = self._incarnation
        return ConnectorReport(
            connector_name=self.connector_name,
            connector_instance_id=incarnation.instance_id if incarnation else "",
            connector=self.spec.connector,
            integration_service=self.spec.integration_service.value,
            metadata_source_qualified_name=self.resource.metadata_source_qualified_name,
            status=self._status.status,
            last_status_change=self._status.last_change,
            last_refresh_time=self._last_refresh.started if self._last_refresh else None,
            last_refresh_duration_seconds=self._last_refresh.duration_seconds if self._last_refresh else None,
            next_refresh_time=None if self._stopping else self._next_refresh_wall,
            refresh_count=self.refresh_count,
            failed_refresh_count=self.failed_refresh_count,
            restart_count=self.restart_count,
            pending_refresh_requests=1 if self._pending is not None else 0,
            last_error=self._last_error,
            failure_reason=self._last_failure_reason,
            last_refresh=self._last_refresh,
            statistics=self._last_statistics,
            archive_refused=self._archive_refused,
        )

    # --- supervision loop -----------------------------------------------------------------------------------
    async def _run(self) -> None:
        try:
            await self._bring_up(trigger="start")
        finally:
            self._brought_up.set()
        await self._supervise()

    async def _supervise(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stopping:
            self._wakeup.clear()
            if self._restart_requested is not None:
                reason, self._restart_requested = self._restart_requested, None
                await self._restart(reason)
                continue
            if self._restart_at is not None and loop.time() >= self._restart_at:
                self._restart_at = None
                await self._restart("automatic restart after failure")
                continue
            if self.is_ready and self._pending is not None:
                await self._refresh(self._take_pending())
                continue
            if self.is_ready and self._next_refresh_at is not None and loop.time() >= self._next_refresh_at:
                self._next_refresh_at = self._next_refresh_wall = None
                self.request_refresh(trigger="interval")
                continue
            deadlines = [t for t in (self._restart_at, self._next_refresh_at if self.is_ready else None) if t]
            timeout = max(0.0, min(deadlines) - loop.time()) if deadlines else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=timeout)

    def _take_pending(self) -> _PendingRefresh:
        assert self._pending is not None
        pending, self._pending = self._pending, None
        return pending

    # --- lifecycle steps ------------------------------------------------------------------------------------
    async def _bring_up(self, *, trigger: str) -> None:
        """Broker, initialize, set_audit_log, set_connector_name, set_context, start; then queue a refresh."""
        if self._stopping:
            return
        instance_id = str(uuid.uuid4())
        self.audit_log.log_message(
            "initialize",
            RuntimeMessages.CONNECTOR_INITIALIZING,
            connector_name=self.connector_name,
            instance_id=instance_id,
            permitted_synchronization=self.spec.permitted_synchronization.value,
        )

        def build() -> IntegrationConnector[Any]:
            built = create_connector(self.spec.connector)
            expected = built.integration_service
            if expected is not None and expected != self.spec.integration_service.value:
                raise NotAConnector(
                    f"connector {self.spec.connector!r} is written for the {expected} integration service,"
                    f" but the resource names {self.spec.integration_service.value}"
                )
            return built

        try:
            # Connector code too (its module's import, its constructor), so it runs where shutdown can leave it.
            timeout = self.spec.refresh_timeout.total_seconds()
            connector: IntegrationConnector[Any] = await self._await_call("__init__", build, timeout=timeout)
        except _Abandoned:
            return
        except ConnectorConfigurationError as error:
            message = (
                RuntimeMessages.NOT_AN_INTEGRATION_CONNECTOR
                if isinstance(error, NotAConnector)
                else (RuntimeMessages.CONNECTOR_NOT_FOUND)
            )
            self.audit_log.log_message(
                "initialize", message, connector=self.spec.connector, reason=str(error), resolved=str(error)
            )
            self._record_failure(ConnectorStatus.CONFIG_FAILED, str(error))
            return
        except Exception as error:  # its module or constructor raised, or hung past refreshTimeout
            self._fail("initialize", error, status=ConnectorStatus.INITIALIZE_FAILED)
            return
        try:
            secrets = require_secured_properties(self.resource, self._secured_properties)
        except SecretsNotMounted as error:
            self.audit_log.log_message(
                "initialize", RuntimeMessages.SECRETS_NOT_MOUNTED, connector_name=self.connector_name, reason=str(error)
            )
            self._record_failure(ConnectorStatus.CONFIG_FAILED, str(error))
            return
        try:
            context = context_for(
                self.resource,
                self._repository,
                audit_log=self.audit_log.child(f"context/{self.spec.integration_service.value}"),
            )
        except Exception as error:
            self._fail("initialize", error, status=ConnectorStatus.INITIALIZE_FAILED)
            return
        incarnation = _Incarnation(instance_id=instance_id, connector=connector, context=context)
        self._incarnation = incarnation
        connection = connection_for(self.resource, secrets)
        connector_log = self.audit_log.child(f"connector/{self.spec.connector}")

        def configure() -> None:
            configure_connector(
                connector,
                connection=connection,
                instance_id=instance_id,
                audit_log=connector_log,
                connector_name=self.connector_name,
                context=context,
            )

        if not await self._lifecycle_call("initialize", configure, failed_status=ConnectorStatus.CONFIG_FAILED):
            return
        self._status.set(ConnectorStatus.INITIALIZED)
        if not await self._lifecycle_call("start", connector.start, failed_status=ConnectorStatus.FAILED):
            return
        if self._stopping:
            return
        interval = self.spec.refresh_period
        self.audit_log.log_message(
            "start",
            RuntimeMessages.CONNECTOR_STARTED,
            connector_name=self.connector_name,
            interval=format_duration(interval) if interval else "(never: only at start and on request)",
        )
        if self.spec.uses_blocking_calls:
            self._status.set(ConnectorStatus.RUNNING)
            incarnation.engage_thread = EngageThread(
                engage=connector.engage,
                on_failure=self._engage_failure_handler(incarnation),
                audit_log=self.audit_log.child("engage"),
                connector_name=self.connector_name,
                pause_seconds=self.settings.engage_pause.total_seconds(),
            )
            incarnation.engage_thread.start()
        else:
            self._status.set(ConnectorStatus.WAITING)
        self.request_refresh(trigger=trigger)

    async def _lifecycle_call(self, method: str, call: Any, *, failed_status: ConnectorStatus) -> bool:
        """Run one step of the bring-up; False if it failed, or shutdown began or abandoned it."""
        if self._stopping:
            return False
        try:
            await self._await_call(method, call, timeout=self.spec.refresh_timeout.total_seconds())
        except _Abandoned:
            return False
        except ConnectorConfigurationError as error:
            self._fail(method, error, status=ConnectorStatus.CONFIG_FAILED)
            return False
        except Exception as error:
            self._fail(method, error, status=failed_status)
            return False
        return True

    async def _refresh(self, pending: _PendingRefresh) -> RefreshRecord:
        incarnation = self._incarnation
        assert incarnation is not None
        self._running = pending
        self._interrupt.clear()
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
        confirmed, self._archive_confirmed = self._archive_confirmed, False  # once: this refresh takes it

        def work() -> tuple[ChangeCounts, list[FailSafeRefusal]]:
            try:
                with incarnation.context.refresh_batch(pending.refresh_id, archive_confirmed=confirmed) as batch:
                    incarnation.connector.refresh()
                    return batch.transaction.counts.model_copy(), list(batch.archive_refusals)
            finally:
                release_free_memory()  # what the refresh built is freed now: see memory.py

        error: BaseException | None = None
        result = RefreshResult.SUCCEEDED
        counts = ChangeCounts()
        refusals: list[FailSafeRefusal] = []
        try:
            counts, refusals = await self._await_call(
                "refresh", work, timeout=timeout.total_seconds(), interruptible=True
            )
        except TimeoutError:
            await self._abandon_refresh(incarnation)
            result, error = (
                RefreshResult.TIMED_OUT,
                TimeoutError(f"refresh did not finish within {format_duration(timeout)}"),
            )
        except (_Interrupted, _Abandoned):
            await self._abandon_refresh(incarnation)
            result, error = RefreshResult.FAILED, RuntimeError("refresh abandoned by a restart or shutdown request")
        except Exception as exc:
            result, error = RefreshResult.FAILED, exc
        duration = loop.time() - started
        self._running = None
        if error is not None:
            refusals = []  # the refresh rolled back: what its fail-safe refused is moot
        record = self._finish_refresh(pending, started_wall, duration, result, counts, error, refusals)
        if self._stopping or self._incarnation is not incarnation:
            return record
        if error is None:
            self._consecutive_failures = 0
            self._status.set(ConnectorStatus.RUNNING if self.spec.uses_blocking_calls else ConnectorStatus.WAITING)
        elif self._restart_requested is not None:
            pass  # the supervisor restarts next; the abandoned refresh is already counted as failed
        elif result is RefreshResult.TIMED_OUT:
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
        period = self.spec.refresh_period
        self._next_refresh_at = loop.time() + period.total_seconds() if period else None
        self._next_refresh_wall = datetime.now(UTC) + period if period else None
        return record

    def _finish_refresh(
        self,
        pending: _PendingRefresh,
        started: datetime,
        duration: float,
        result: RefreshResult,
        counts: ChangeCounts,
        error: BaseException | None,
        refusals: list[FailSafeRefusal],
    ) -> RefreshRecord:
        errors = [self._describe(error)] if error else []
        statistics = RefreshStatistics(
            created=counts.created,
            updated=counts.updated,
            unchanged=counts.unchanged,
            archived=counts.archived,
            deleted=counts.deleted,
            would_archive=counts.would_archive + sum(refusal.would_archive for refusal in refusals),
            errors=errors[:MAX_ERRORS_IN_REPORT],
        )
        record = RefreshRecord(
            refresh_id=pending.refresh_id,
            trigger=pending.trigger,
            started=started,
            duration_seconds=round(duration, 6),
            result=result,
            statistics=statistics,
            error=errors[0] if errors else None,
        )
        self.refresh_count += 1
        if error is not None:
            self.failed_refresh_count += 1
        self._last_refresh = record
        self._last_statistics = statistics
        self._archive_refused = _summarise(
            pending.refresh_id, refusals, connector_name=self.connector_name, mask=self.masker.mask
        )
        self.metrics.refresh_finished(result=result.value, duration=duration, counts=counts)
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
        self._consecutive_failures += 1
        policy = self.spec.auto_restart
        restart = status is not ConnectorStatus.CONFIG_FAILED and policy.enabled
        if policy.max_restarts is not None and self._consecutive_failures > policy.max_restarts:
            restart = False
        backoff = self._backoff.delay(self._consecutive_failures)
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
                backoff=format_duration(backoff) if restart else "never (restart it by request)",
            )
        reason = INVALID_CONFIGURATION if isinstance(error, InvalidConfiguration) else None
        self._record_failure(status, self._describe(error), reason=reason)
        if restart:
            self._restart_at = asyncio.get_running_loop().time() + backoff.total_seconds()
        elif status is not ConnectorStatus.CONFIG_FAILED:
            self.audit_log.log_message(
                "restart",
                RuntimeMessages.RESTARTS_EXHAUSTED,
                connector_name=self.connector_name,
                restart_count=self._consecutive_failures,
            )
        self._wakeup.set()

    def _record_failure(self, status: ConnectorStatus, message: str, *, reason: str | None = None) -> None:
        self._last_error = self.masker.mask(message)
        self._last_failure_status = status
        self._last_failure_reason = reason
        self._status.set(status)

    def _engage_failure_handler(self, incarnation: _Incarnation) -> Any:
        loop = asyncio.get_running_loop()

        def on_failure(error: BaseException) -> None:
            def fail_on_loop() -> None:
                if self._incarnation is incarnation and not self._stopping:
                    self._fail("engage", error)

            loop.call_soon_threadsafe(fail_on_loop)

        return on_failure

    async def _restart(self, reason: str) -> None:
        self.restart_count += 1
        self.metrics.restarted()
        self.audit_log.log_message(
            "restart",
            RuntimeMessages.CONNECTOR_RESTARTING,
            connector_name=self.connector_name,
            reason=reason,
            restart_count=self.restart_count,
        )
        await self._disconnect(reason=reason)
        self._status.set(ConnectorStatus.STOPPED)
        self._next_refresh_at = self._next_refresh_wall = None
        self._pending = None
        await self._bring_up(trigger="restart")

    async def _disconnect(self, *, reason: str, deadline: float | None = None) -> bool:
        """Stop engage, make the context refuse use, and call disconnect(); both are waited for until `deadline`
        (loop time; the grace period from now when not given). False if there was no connector to disconnect."""
        incarnation, self._incarnation = self._incarnation, None
        if incarnation is None:
            return False
        loop = asyncio.get_running_loop()
        if deadline is None:
            deadline = loop.time() + self.settings.shutdown_grace.total_seconds()
        self.audit_log.log_message(
            "disconnect",
            RuntimeMessages.DISCONNECTING,
            connector_name=self.connector_name,
            reason=reason,
            grace=format_duration(self.settings.shutdown_grace),
        )
        engage = incarnation.engage_thread
        if engage is not None:
            engage.stop()
        incarnation.context.disconnect()
        try:
            await self._await_call(
                "disconnect",
                incarnation.connector.disconnect,
                timeout=max(0.0, deadline - loop.time()),
                bounded_by_shutdown=not self._stopping,  # shutdown's own disconnect has its own deadline
            )
        except _Abandoned:
            pass  # a restart's disconnect, cut short by shutdown: `_await_call` logged it
        except TimeoutError:
            self.audit_log.log_message(
                "disconnect",
                RuntimeMessages.DISCONNECT_TIMED_OUT,
                connector_name=self.connector_name,
                method="disconnect()",
                grace=format_duration(self.settings.shutdown_grace),
            )
        except Exception as error:
            self.audit_log.log_exception(
                "disconnect",
                RuntimeMessages.CONNECTOR_FAILED,
                error,
                connector_name=self.connector_name,
                method="disconnect",
                backoff="-",
            )
        if engage is not None and not await self._join_engage(engage, deadline):
            self.audit_log.log_message(
                "disconnect",
                RuntimeMessages.DISCONNECT_TIMED_OUT,
                connector_name=self.connector_name,
                method="engage()",
                grace=format_duration(self.settings.shutdown_grace),
            )
        self.audit_log.log_message("disconnect", RuntimeMessages.DISCONNECTED, connector_name=self.connector_name)
        return True

    # --- helpers --------------------------------------------------------------------------------------------
    async def _await_call(
        self,
        method: str,
        call: Any,
        *,
        timeout: float,  # noqa: ASYNC109
        interruptible: bool = False,
        bounded_by_shutdown: bool = True,
    ) -> Any:
        """Await connector code on its thread: TimeoutError after `timeout` seconds.

        The one place the runtime waits for connector code, so shutdown bounds every such wait: once it has
        begun, the call may run until the shutdown deadline, then it is logged as abandoned and `_Abandoned`
        is raised. With `interruptible`, a restart request ends the wait too (`_Interrupted`). An abandoned
        thread is left to finish on its own; its context refuses its calls.
        """
        loop = asyncio.get_running_loop()
        ends = loop.time() + timeout
        future = self._call(call)
        waiters: set[asyncio.Future[Any]] = {future}
        shutdown: asyncio.Future[Any] | None = None
        interrupt: asyncio.Future[Any] | None = None
        if bounded_by_shutdown:
            shutdown = asyncio.ensure_future(self._shutdown_began.wait())
            waiters.add(shutdown)
        if interruptible:
            interrupt = asyncio.ensure_future(self._interrupt.wait())
            waiters.add(interrupt)
        abandoning = False
        try:
            while True:
                deadline, abandoning = ends, False
                if bounded_by_shutdown and self._shutdown_deadline is not None and self._shutdown_deadline < ends:
                    deadline, abandoning = self._shutdown_deadline, True
                remaining = max(0.0, deadline - loop.time())
                done, _ = await asyncio.wait(waiters, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
                if future in done:
                    return future.result()
                if interrupt is not None and interrupt in done:
                    raise _Interrupted()
                if shutdown is not None and shutdown in done:
                    waiters.discard(shutdown)  # wait again, now bounded by the shutdown deadline
                    continue
                break
        finally:
            for helper in (shutdown, interrupt):
                if helper is not None:
                    helper.cancel()
            if not future.done():  # abandoned (timeout, interrupt or our own cancellation): settle it quietly
                future.add_done_callback(_consume_result)
        if abandoning:
            self.audit_log.log_message(
                method,
                RuntimeMessages.DISCONNECT_TIMED_OUT,
                connector_name=self.connector_name,
                method=f"{method}()",
                grace=format_duration(self.settings.shutdown_grace),
            )
            raise _Abandoned()
        raise TimeoutError()

    async def _abandon_refresh(self, incarnation: _Incarnation) -> None:
        """Refuse the refresh's further calls and abort its transaction, off the loop (it may wait on the
        database for a moment)."""
        await run_on_thread(incarnation.context.abandon_refresh, name="metaferry-abandon-refresh")

    async def _join_engage(self, engage: EngageThread, deadline: float) -> bool:
        """Wait for the engage loop to end until `deadline`, on a daemon thread: one the process never waits for."""
        remaining = max(0.0, deadline - asyncio.get_running_loop().time())
        return await run_on_thread(lambda: engage.join(remaining), name="metaferry-engage-join")

    def _describe(self, error: BaseException) -> str:
        text = str(error) or type(error).__name__
        return self.masker.mask(f"{type(error).__name__}: {text}")


class _Interrupted(Exception):
    """A restart request ended the wait for a refresh."""


class _Abandoned(Exception):
    """Shutdown's grace ended while the call ran; the call is left behind."""


def _consume_result(future: asyncio.Future[Any]) -> None:
    """Retrieve an abandoned call's outcome so asyncio does not warn that an exception was never retrieved."""
    if not future.cancelled():
        future.exception()


def _summarise(
    refresh_id: str, refusals: list[FailSafeRefusal], *, connector_name: str, mask: Callable[[str], str]
) -> ArchiveRefusal | None:
    """One refusal for the report from the refresh's refusals (one per deletion-detection scope). The message
    is masked: a scope names a qualified-name prefix, which the connector made from its endpoint."""
    if not refusals:
        return None
    would_archive = sum(refusal.would_archive for refusal in refusals)
    in_scope = sum(refusal.in_scope for refusal in refusals)
    limit = min(refusal.max_archive_percent for refusal in refusals)
    message = RuntimeMessages.ARCHIVE_REFUSED
    return ArchiveRefusal(
        refresh_id=refresh_id,
        would_archive=would_archive,
        in_scope=in_scope,
        max_archive_percent=limit,
        message_id=message.message_id,
        message=mask(
            message.format(
                connector_name=connector_name,
                would_archive=would_archive,
                in_scope=in_scope,
                scope="; ".join(refusal.scope for refusal in refusals),
                percent=round(would_archive * 100 / in_scope) if in_scope else 0,
                limit=limit,
            )
        )[:4096],
    )


def _new_id() -> str:
    return uuid.uuid4().hex[:12]
