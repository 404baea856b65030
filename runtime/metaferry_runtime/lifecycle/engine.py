"""The lifecycle engine of one connector: Egeria's integration connector handler, made recoverable.

One asyncio task (the supervisor: `_run`, the bring-up then `_supervise`) owns every state change, so the rules
are easy to check. Each rule lives in one module, tested on its own:

- lifecycle order (`steps.py`, `configure.py`): broker -> initialize -> set_audit_log -> set_connector_name
  -> set_context (INITIALIZED) -> start (WAITING, or RUNNING with the engage thread for blocking connectors);
- when refreshes run (`scheduler.py`): at start, every `refreshInterval` after the previous refresh ended,
  and on request; never two at once; requests that arrive while a refresh runs coalesce into exactly one
  more; each refresh is one repository transaction, abandoned after `refreshTimeout` (`incarnation.py`);
- failure -> FAILED, then an automatic restart (disconnect, initialize again) after a capped exponential
  backoff (`restarts.py`), counted in the report; CONFIG_FAILED waits for a restart request;
- shutdown never hangs (`calls.py`): one deadline, the grace period, bounds every wait on connector code
  (initialize, start, refresh, engage, a restart's disconnect); what is still running then is abandoned and
  logged by name, disconnect() gets what is left (at least DISCONNECT_MINIMUM_SECONDS), and the context
  refuses use.

Connector code runs on worker threads (see `threads.py`) so the HTTP API answers during a refresh.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from metaferry_runtime.audit import RuntimeMessages
from metaferry_runtime.lifecycle.steps import LifecycleSteps
from metaferry_runtime.report import (
    ConnectorReport,
    ConnectorStatus,
    RefreshAccepted,
    RefreshRecord,
)
from metaferry_runtime.sdk import ApiRoute

HEALTHY = (ConnectorStatus.WAITING, ConnectorStatus.REFRESHING, ConnectorStatus.RUNNING)
# disconnect() is called even when running work used up the grace, and given this long at least.
DISCONNECT_MINIMUM_SECONDS = 0.5
# How long after the grace shutdown waits for the supervisor to notice the abandonment before cancelling it.
SUPERVISOR_SLACK_SECONDS = 1.0


class RefreshRefused(Exception):
    """A refresh cannot be queued now (shutting down, or the configuration is broken)."""


class RestartRefused(Exception):
    """A restart cannot be requested now (the runtime is shutting down)."""


class ConnectorRuntime(LifecycleSteps):
    """Runs the connector described by one IntegrationConnector resource.

    `secured_properties` is None when no secrets directory was given: a resource naming a `secretRef` is then
    CONFIG_FAILED rather than started without its credentials. `masker` is shared with the log handler.
    """

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

    def connector_api_routes(self) -> Sequence[ApiRoute] | None:
        """The routes the running connector adds to the HTTP API; None while no started connector runs (before
        start() succeeded, failed, stopping), so the API answers 503 instead of asking a dead instance."""
        incarnation = self._incarnation
        if incarnation is None or not self.is_ready:
            return None
        return incarnation.connector.api_routes()

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
        if await self._bring_up():
            self.request_refresh(trigger="start")
        record = None
        if self._refreshes.pending is not None and self.is_ready:
            record = await self._refresh(self._refreshes.start())
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
        recalled = self._refreshes.recall(request_id, confirm_archive=confirm_archive)
        if recalled is not None:
            return recalled
        if self._stopping:
            raise RefreshRefused("the runtime is shutting down")
        if self._status.status is ConnectorStatus.CONFIG_FAILED:
            raise RefreshRefused(f"the connector's configuration is invalid: {self._last_error}")
        accepted = self._refreshes.request(request_id, trigger=trigger, confirm_archive=confirm_archive)
        self.audit_log.log_message(
            "request refresh",
            RuntimeMessages.REFRESH_REQUESTED,
            connector_name=self.connector_name,
            refresh_id=accepted.refresh_id,
            queued="; it runs after the refresh in progress" if accepted.queued else "",
        )
        self._wakeup.set()
        return accepted

    def request_restart(self, reason: str = "requested") -> int:
        """Disconnect and initialize again, abandoning a running refresh; returns the restart number to come."""
        if self._stopping:
            raise RestartRefused("the runtime is shutting down")
        self._restarts.request(reason)
        self._calls.interrupt()
        self._wakeup.set()
        return self.restart_count + 1

    async def shutdown(self, *, reason: str = "shutdown") -> None:
        """Stop within the grace period (plus DISCONNECT_MINIMUM_SECONDS), whatever the connector is doing.

        Running calls may finish until the grace ends; then `ConnectorCalls.wait` abandons them, so the supervisor
        returns; disconnect() and the engage thread get what is left of the grace.
        """
        if self._stopping and self._stopped.is_set():
            return
        loop = asyncio.get_running_loop()
        grace = self.settings.shutdown_grace.total_seconds()
        self._stopping = True
        shutdown_deadline = loop.time() + grace
        self._calls.begin_shutdown(shutdown_deadline)
        self._wakeup.set()
        supervisor = self._supervisor
        if supervisor is not None and not supervisor.done():
            await asyncio.wait({supervisor}, timeout=grace + SUPERVISOR_SLACK_SECONDS)
            if not supervisor.done():  # waiting on something other than connector code: the last resort
                supervisor.cancel()
                await asyncio.gather(supervisor, return_exceptions=True)
        deadline = max(shutdown_deadline, loop.time() + DISCONNECT_MINIMUM_SECONDS)
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
            next_refresh_time=None if self._stopping else self._refreshes.next_due_wall,
            refresh_count=self.refresh_count,
            failed_refresh_count=self.failed_refresh_count,
            restart_count=self.restart_count,
            pending_refresh_requests=1 if self._refreshes.pending is not None else 0,
            last_error=self._last_error,
            failure_reason=self._last_failure_reason,
            last_refresh=self._last_refresh,
            statistics=self._last_statistics,
            archive_refused=self._archive_refused,
        )

    # --- supervision loop -----------------------------------------------------------------------------------
    async def _run(self) -> None:
        try:
            if await self._bring_up():
                self.request_refresh(trigger="start")
        finally:
            self._brought_up.set()
        await self._supervise()

    async def _supervise(self) -> None:
        """Carry out what is due, in this order: a restart, a queued refresh, an interval refresh; else sleep
        until the next due time or a wake-up (a request, a failure, shutdown)."""
        loop = asyncio.get_running_loop()
        while not self._stopping:
            self._wakeup.clear()
            reason = self._restarts.take_due()
            if reason is not None:
                await self._restart(reason)
                continue
            if self.is_ready and self._refreshes.pending is not None:
                await self._refresh(self._refreshes.start())
                continue
            if self.is_ready and self._refreshes.interval_due():
                self.request_refresh(trigger="interval")
                continue
            due = [t for t in (self._restarts.due_at, self._refreshes.next_due if self.is_ready else None) if t]
            timeout = max(0.0, min(due) - loop.time()) if due else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=timeout)

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
        self._refreshes.reset()
        self.refresh_requests.changed()  # a request whose queued refresh was dropped is superseded
        if await self._bring_up():
            self.request_refresh(trigger="restart")
