"""One initialized instance of the connector, with its context and engage thread; a restart makes a new one.

It runs the calls made on a started connector (a refresh in its transaction, engage, disconnect) and turns
their outcome into values; the engine decides what each outcome means for the connector's status.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from metaferry_runtime.audit import AuditLog, RuntimeMessages
from metaferry_runtime.lifecycle.calls import Abandoned, ConnectorCalls, Interrupted
from metaferry_runtime.lifecycle.engage import EngageThread
from metaferry_runtime.lifecycle.memory import release_free_memory
from metaferry_runtime.lifecycle.scheduler import StartedRefresh
from metaferry_runtime.lifecycle.threads import run_on_thread
from metaferry_runtime.report import RefreshResult
from metaferry_runtime.repository import ChangeCounts, FailSafeRefusal
from metaferry_runtime.resource import format_duration
from metaferry_runtime.sdk import Connection, IntegrationConnector, IntegrationContext


@dataclass
class RefreshOutcome:
    """How a refresh ended; on failure the counts are empty and the fail-safe's refusals moot (rolled back)."""

    result: RefreshResult = RefreshResult.SUCCEEDED
    error: BaseException | None = None
    counts: ChangeCounts = field(default_factory=ChangeCounts)
    refusals: list[FailSafeRefusal] = field(default_factory=list)


@dataclass
class Incarnation:
    instance_id: str
    connector: IntegrationConnector[Any]
    context: IntegrationContext
    connection: Connection
    calls: ConnectorCalls
    audit_log: AuditLog
    connector_name: str
    engage_thread: EngageThread | None = None

    def start_engage(self, *, on_failure: Any, audit_log: AuditLog, pause_seconds: float) -> None:
        """A connector that uses blocking calls: engage() in a loop on its own thread."""
        self.engage_thread = EngageThread(
            engage=self.connector.engage,
            on_failure=on_failure,
            audit_log=audit_log,
            connector_name=self.connector_name,
            pause_seconds=pause_seconds,
        )
        self.engage_thread.start()

    async def refresh(self, started: StartedRefresh, *, limit: timedelta) -> RefreshOutcome:
        """refresh() in one repository transaction, abandoned (its transaction aborted at once, so that its
        locks cannot hold up the next refresh) after `limit`, on a restart request or at shutdown."""
        refresh_id, confirmed = started.refresh.refresh_id, started.archive_confirmed

        def work() -> tuple[ChangeCounts, list[FailSafeRefusal]]:
            try:
                with self.context.refresh_batch(refresh_id, archive_confirmed=confirmed) as batch:
                    self.connector.refresh()
                    return batch.transaction.counts.model_copy(), list(batch.archive_refusals)
            finally:
                release_free_memory()  # what the refresh built is freed now: see memory.py

        try:
            counts, refusals = await self.calls.wait("refresh", work, timeout=limit.total_seconds(), interruptible=True)
        except TimeoutError:
            await self._abandon_refresh()
            error = TimeoutError(f"refresh did not finish within {format_duration(limit)}")
            return RefreshOutcome(RefreshResult.TIMED_OUT, error)
        except (Interrupted, Abandoned):
            await self._abandon_refresh()
            abandoned = RuntimeError("refresh abandoned by a restart or shutdown request")
            return RefreshOutcome(RefreshResult.FAILED, abandoned)
        except Exception as exc:
            return RefreshOutcome(RefreshResult.FAILED, exc)
        return RefreshOutcome(counts=counts, refusals=refusals)

    async def disconnect(self, *, reason: str, deadline: float, grace: timedelta, bounded_by_shutdown: bool) -> None:
        """Stop engage, make the context refuse use, and call disconnect(); both are waited for until `deadline`
        (loop time). `bounded_by_shutdown`: a restart's disconnect, which shutdown may cut short."""
        loop = asyncio.get_running_loop()
        log = self.audit_log
        log.log_message(
            "disconnect",
            RuntimeMessages.DISCONNECTING,
            connector_name=self.connector_name,
            reason=reason,
            grace=format_duration(grace),
        )
        engage = self.engage_thread
        if engage is not None:
            engage.stop()
        self.context.disconnect()
        try:
            await self.calls.wait(
                "disconnect",
                self.connector.disconnect,
                timeout=max(0.0, deadline - loop.time()),
                bounded_by_shutdown=bounded_by_shutdown,
            )
        except Abandoned:
            pass  # a restart's disconnect, cut short by shutdown: `ConnectorCalls.wait` logged it
        except TimeoutError:
            self._timed_out("disconnect()", grace)
        except Exception as error:
            log.log_exception(
                "disconnect",
                RuntimeMessages.CONNECTOR_FAILED,
                error,
                connector_name=self.connector_name,
                method="disconnect",
                backoff="-",
            )
        if engage is not None and not await _join_engage(engage, deadline):
            self._timed_out("engage()", grace)
        log.log_message("disconnect", RuntimeMessages.DISCONNECTED, connector_name=self.connector_name)

    def _timed_out(self, method: str, grace: timedelta) -> None:
        self.audit_log.log_message(
            "disconnect",
            RuntimeMessages.DISCONNECT_TIMED_OUT,
            connector_name=self.connector_name,
            method=method,
            grace=format_duration(grace),
        )

    async def _abandon_refresh(self) -> None:
        """Refuse the refresh's further calls and abort its transaction, off the loop (it may wait on the
        database for a moment)."""
        await run_on_thread(self.context.abandon_refresh, name="metaferry-abandon-refresh")


async def _join_engage(engage: EngageThread, deadline: float) -> bool:
    """Wait for the engage loop to end until `deadline`, on a daemon thread: one the process never waits for."""
    remaining = max(0.0, deadline - asyncio.get_running_loop().time())
    return await run_on_thread(lambda: engage.join(remaining), name="metaferry-engage-join")
