"""The one place the engine waits for connector code, so one shutdown deadline bounds every such wait.

Connector code runs on a worker thread (see `threads.py`); `ConnectorCalls.wait` awaits it with a timeout.
Once shutdown has begun, a call may run until the shutdown deadline, then it is logged as abandoned and
`Abandoned` is raised; an interruptible call (a refresh) also ends on a restart request (`Interrupted`).
An abandoned thread is left to finish on its own; its context refuses its calls.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from metaferry_runtime.audit import AuditLog, RuntimeMessages
from metaferry_runtime.lifecycle.threads import CallRunner
from metaferry_runtime.resource import format_duration


class Interrupted(Exception):
    """A restart request ended the wait for a refresh."""


class Abandoned(Exception):
    """Shutdown's grace ended while the call ran; the call is left behind."""


class ConnectorCalls:
    """Runs connector calls on threads and waits for them, bounded by their timeout and by shutdown."""

    def __init__(
        self, *, call_runner: CallRunner[Any], audit_log: AuditLog, connector_name: str, grace: timedelta
    ) -> None:
        self._call = call_runner
        self._audit_log = audit_log
        self._connector_name = connector_name
        self._grace = grace
        self._shutdown_began = asyncio.Event()
        self.shutdown_deadline: float | None = None  # loop time
        self._interrupt = asyncio.Event()

    def begin_shutdown(self, deadline: float) -> None:
        """From now on every bounded wait ends by `deadline` (loop time)."""
        self.shutdown_deadline = deadline
        self._shutdown_began.set()

    def interrupt(self) -> None:
        """End the wait for the interruptible call running now (a restart was requested)."""
        self._interrupt.set()

    def clear_interrupt(self) -> None:
        self._interrupt.clear()

    async def wait(
        self,
        method: str,
        call: Any,
        *,
        timeout: float,  # noqa: ASYNC109
        interruptible: bool = False,
        bounded_by_shutdown: bool = True,
    ) -> Any:
        """Await `call` on its thread: its result, its exception, or TimeoutError after `timeout` seconds."""
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
                if bounded_by_shutdown and self.shutdown_deadline is not None and self.shutdown_deadline < ends:
                    deadline, abandoning = self.shutdown_deadline, True
                remaining = max(0.0, deadline - loop.time())
                done, _ = await asyncio.wait(waiters, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
                if future in done:
                    return future.result()
                if interrupt is not None and interrupt in done:
                    raise Interrupted()
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
            self._audit_log.log_message(
                method,
                RuntimeMessages.DISCONNECT_TIMED_OUT,
                connector_name=self._connector_name,
                method=f"{method}()",
                grace=format_duration(self._grace),
            )
            raise Abandoned()
        raise TimeoutError()


def _consume_result(future: asyncio.Future[Any]) -> None:
    """Retrieve an abandoned call's outcome so asyncio does not warn that an exception was never retrieved."""
    if not future.cancelled():
        future.exception()
