"""How each refresh request ended, and waiting for it: what `GET /refresh-requests/{id}` answers.

The scheduler knows which refresh a request id joined and whether that refresh is queued or running; this
keeps the records of the refreshes that ended, so a request's outcome can be told after the fact, and wakes
those waiting for one. A request whose refresh is neither queued, running nor ended was dropped by a
restart (`RefreshScheduler.reset`): it is superseded by the restart's own refresh.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from datetime import timedelta

from metaferry_runtime.lifecycle.scheduler import RefreshScheduler
from metaferry_runtime.report import RefreshRecord, RefreshRequestOutcome, RefreshResult, RequestState

#: The longest a caller may wait for one request's outcome in one call (it calls again for longer).
MAX_WAIT_SECONDS = 60.0


class RequestOutcomes:
    """The ended refreshes of the last `remembered` refreshes, by refresh id; only the supervisor writes it."""

    def __init__(self, scheduler: RefreshScheduler, *, remembered: int = 256) -> None:
        self._scheduler = scheduler
        self._remembered = remembered
        self._ended: OrderedDict[str, RefreshRecord] = OrderedDict()
        self._changed = asyncio.Event()

    def ended(self, record: RefreshRecord) -> None:
        """A refresh ended (succeeded, failed, timed out or abandoned): its requests have their outcome."""
        self._ended[record.refresh_id] = record
        while len(self._ended) > self._remembered:
            self._ended.popitem(last=False)
        self.changed()

    def changed(self) -> None:
        """Wake every waiter to look again (a refresh started or ended, or a restart dropped the queue)."""
        self._changed.set()
        self._changed = asyncio.Event()

    def outcome(self, request_id: str) -> RefreshRequestOutcome | None:
        """Where `request_id` stands now; None when the runtime never saw it or has forgotten it."""
        refresh_id = self._scheduler.refresh_of(request_id)
        if refresh_id is None:
            return None
        record = self._ended.get(refresh_id)
        if record is not None:
            succeeded = record.result is RefreshResult.SUCCEEDED
            return RefreshRequestOutcome(
                request_id=request_id,
                refresh_id=refresh_id,
                state=RequestState.SUCCEEDED if succeeded else RequestState.FAILED,
                started_at=record.started,
                finished_at=record.started + timedelta(seconds=record.duration_seconds),
                statistics=record.statistics,
                error=None if succeeded else record.error or f"the refresh {record.result.value}",
            )
        pending, running = self._scheduler.pending, self._scheduler.running
        if running is not None and running.refresh_id == refresh_id:
            return RefreshRequestOutcome(request_id=request_id, refresh_id=refresh_id, state=RequestState.RUNNING)
        if pending is not None and pending.refresh_id == refresh_id:
            return RefreshRequestOutcome(request_id=request_id, refresh_id=refresh_id, state=RequestState.QUEUED)
        return RefreshRequestOutcome(
            request_id=request_id,
            refresh_id=refresh_id,
            state=RequestState.SUPERSEDED,
            error="a restart of the connector dropped the queued refresh; the restart's own refresh ran instead",
        )

    async def wait(self, request_id: str, *, seconds: float) -> RefreshRequestOutcome | None:
        """The outcome once final, or where the request stands after `seconds` (at most MAX_WAIT_SECONDS)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(max(seconds, 0.0), MAX_WAIT_SECONDS)
        while True:
            outcome = self.outcome(request_id)
            left = deadline - loop.time()
            if outcome is None or outcome.state.is_final or left <= 0:
                return outcome
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=left)
