"""From out-topic events to index changes: the queue between the repository's delivery thread and the
indexing thread, and how a batch of events folds into one change per guid.

Why a queue: listeners run on the repository's delivery thread, which must not wait on Tantivy; the
indexing thread takes what has gathered and commits it at once. The queue is bounded, so an indexer that
falls behind holds up only its own subscription (each listener has its delivery thread), which then reads
the out topic at the indexer's pace instead of filling memory.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence

from metaferry_runtime.sdk import ChangeEvent, ChangeKind, Element, InstanceStatus

#: Seconds between a blocked put's looks at whether the indexer is stopping.
PUT_POLL_SECONDS = 0.2

_REMOVED = frozenset({ChangeKind.ELEMENT_ARCHIVED, ChangeKind.ELEMENT_DELETED})


class EventFeed:
    """Events in sequence order, from `deliver` (the listener) to `take` (the indexing thread)."""

    def __init__(self, *, capacity: int, stopping: threading.Event) -> None:
        self._queue: queue.Queue[ChangeEvent] = queue.Queue(maxsize=max(1, capacity))
        self._stopping = stopping

    def deliver(self, event: ChangeEvent) -> None:
        """The listener: waits while the queue is full, gives up when the indexer stops."""
        while not self._stopping.is_set():
            try:
                self._queue.put(event, timeout=PUT_POLL_SECONDS)
                return
            except queue.Full:
                continue

    def take(self, *, limit: int, wait: float, gather: float) -> list[ChangeEvent]:
        """Up to `limit` events: waits up to `wait` seconds for the first, then up to `gather` for a burst."""
        try:
            first = self._queue.get(timeout=wait)
        except queue.Empty:
            return []
        batch = [first]
        self._drain(batch, limit)
        if len(batch) < limit and gather > 0 and not self._stopping.wait(gather):
            self._drain(batch, limit)
        return batch

    def _drain(self, batch: list[ChangeEvent], limit: int) -> None:
        while len(batch) < limit:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                return


def fold(events: Sequence[ChangeEvent], *, after: int) -> dict[str, Element | None]:
    """The index changes of `events` past sequence `after`: the last state of each element they touch (None:
    it leaves the index: archived or deleted). Relationship events change no document."""
    changes: dict[str, Element | None] = {}
    for event in events:
        if event.sequence <= after:
            continue  # already covered by the index (a replay after a restart or a rebuild)
        element = event.element or event.previous_element
        if element is None:
            continue
        if event.kind in _REMOVED or event.element is None or event.element.status is not InstanceStatus.ACTIVE:
            changes[element.guid] = None
        else:
            changes[element.guid] = event.element
    return changes
