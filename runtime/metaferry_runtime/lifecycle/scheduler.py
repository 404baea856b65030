"""When the next refresh runs, and which refresh a request joins: pure state, with the clocks injected.

The engine's supervisor asks this what is due and tells it what happened; nothing here waits, logs or runs
connector code, so every scheduling rule is unit-tested without threads or an event loop:

- refresh at start, every `refreshInterval` after the previous refresh *ended*, and on request;
- never two at once: requests that arrive while a refresh runs coalesce into exactly one more;
- a request is idempotent per request id (the operator's annotation value): the same id is answered with
  the same refresh, and only the most recent ids are remembered;
- an archive confirmation waits for the next refresh to start, which takes it, once.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from metaferry_runtime.report import RefreshAccepted

Clock = Callable[[], float]  # seconds, monotonic (the event loop's time in the engine)
WallClock = Callable[[], datetime]  # for the report's next refresh time


@dataclass(frozen=True)
class PendingRefresh:
    """A refresh that is queued or running: its id (what requests are answered with) and what caused it."""

    refresh_id: str
    trigger: str


@dataclass(frozen=True)
class StartedRefresh:
    """A refresh taken from the queue: the refresh and whether it may archive past the deletion fail-safe."""

    refresh: PendingRefresh
    archive_confirmed: bool


def new_refresh_id() -> str:
    return uuid.uuid4().hex[:12]


class RefreshScheduler:
    """The refresh queue (at most one pending, at most one running) and the interval timer of one connector."""

    def __init__(
        self,
        *,
        clock: Clock,
        wall_clock: WallClock,
        remembered_request_ids: int = 256,
        new_id: Callable[[], str] = new_refresh_id,
    ) -> None:
        self._clock = clock
        self._wall_clock = wall_clock
        self._remembered = remembered_request_ids
        self._new_id = new_id
        self.pending: PendingRefresh | None = None
        self.running: PendingRefresh | None = None
        self._request_ids: OrderedDict[tuple[str, bool], str] = OrderedDict()  # (id, confirms archive) -> refresh
        self._archive_confirmed = False  # the next refresh to start may archive past the fail-safe
        self.next_due: float | None = None  # clock time of the next interval refresh
        self.next_due_wall: datetime | None = None  # the same, in wall-clock time, for the report

    def recall(self, request_id: str | None, *, confirm_archive: bool = False) -> RefreshAccepted | None:
        """The answer already given to `request_id` (None: not seen, or forgotten). `queued` tells whether
        that refresh is still waiting to start."""
        if request_id is None:
            return None
        refresh_id = self._request_ids.get((request_id, confirm_archive))
        if refresh_id is None:
            return None
        queued = self.pending is not None and self.pending.refresh_id == refresh_id
        return RefreshAccepted(refresh_id=refresh_id, queued=queued, archive_confirmed=confirm_archive)

    def refresh_of(self, request_id: str) -> str | None:
        """The refresh `request_id` was answered with (the plain request's, else the confirming one's)."""
        return self._request_ids.get((request_id, False)) or self._request_ids.get((request_id, True))

    def request(
        self, request_id: str | None = None, *, trigger: str = "request", confirm_archive: bool = False
    ) -> RefreshAccepted:
        """Queue a refresh, or join the one already queued; `queued` is True when one is running now.

        Requests that confirm the archive and requests that do not are told apart, even with one id.
        """
        queued = self.running is not None
        if self.pending is None:
            self.pending = PendingRefresh(refresh_id=self._new_id(), trigger=trigger)
        refresh_id = self.pending.refresh_id
        if confirm_archive:
            self._archive_confirmed = True
        if request_id is not None:
            self._request_ids[(request_id, confirm_archive)] = refresh_id
            while len(self._request_ids) > self._remembered:
                self._request_ids.popitem(last=False)
        return RefreshAccepted(refresh_id=refresh_id, queued=queued, archive_confirmed=confirm_archive)

    def start(self) -> StartedRefresh:
        """Take the pending refresh to run it now, with the archive confirmation if one is waiting."""
        if self.pending is None:
            raise LookupError("no refresh is pending")
        refresh, self.pending = self.pending, None
        confirmed, self._archive_confirmed = self._archive_confirmed, False
        self.running = refresh
        return StartedRefresh(refresh=refresh, archive_confirmed=confirmed)

    def finished(self) -> None:
        """The running refresh ended (succeeded, failed or abandoned); a request now queues without waiting."""
        self.running = None

    def schedule_after(self, period: timedelta | None) -> None:
        """Time the next interval refresh `period` from now (a refresh just ended); None: only on request."""
        self.next_due = self._clock() + period.total_seconds() if period else None
        self.next_due_wall = self._wall_clock() + period if period else None

    def interval_due(self) -> bool:
        """The interval has passed: True once, then the timer is cleared until the next refresh ends."""
        if self.next_due is None or self._clock() < self.next_due:
            return False
        self.next_due = self.next_due_wall = None
        return True

    def reset(self) -> None:
        """A restart: the queued refresh and the timer go (the new incarnation queues its own first refresh).
        Remembered request ids stay, so a retried request is still answered with its refresh."""
        self.pending = None
        self.next_due = self.next_due_wall = None
