"""Out-topic delivery: committed events, read from the outbox table, handed to listeners in sequence order.

The events table is the outbox and the source of truth: each subscription has its own thread and its own
position (the last sequence it delivered) and reads the table forward from there. Nothing is pushed
through memory, so nothing is lost when a wake-up is: a subscription wakes when this process commits,
when another process's commit is notified (PostgreSQL LISTEN/NOTIFY, see pg_notifications), after a
(re)connection, and at least every `poll_interval` seconds (the only way another process's SQLite commit
is seen). A listener that raises is logged and delivery goes on with the next event; a database that
cannot be read is retried with capped backoff from the same position.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

from metaferry_runtime.repository.errors import RepositoryError
from metaferry_runtime.repository.interface import EventListener
from metaferry_runtime.repository.model import ChangeEvent

log = logging.getLogger(__name__)

ReadEvents = Callable[[int, int], Iterable[ChangeEvent]]  # (after sequence, limit) -> events in order

BATCH = 500
MAX_BACKOFF = 5.0


class Subscription:
    def __init__(self, *, listener: EventListener, position: int, read: ReadEvents, poll_interval: float) -> None:
        self.position = position
        self._listener = listener
        self._read = read
        self._poll_interval = poll_interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="metaferry-out-topic", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def _run(self) -> None:
        backoff = 0.1
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self._deliver_available()
                backoff = 0.1
            except Exception as error:  # the database is unreachable or restarting: retry from position
                log.warning("out-topic read failed (retrying in %.1fs): %s", backoff, error)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            self._wake.wait(self._poll_interval)

    def _deliver_available(self) -> None:
        while not self._stop.is_set():
            batch = list(self._read(self.position, BATCH))
            for event in batch:
                if self._stop.is_set():
                    return
                try:
                    self._listener(event)
                except Exception:
                    log.exception(
                        "out-topic listener failed on event %d (%s); delivery goes on", event.sequence, event.kind
                    )
                self.position = event.sequence
            if len(batch) < BATCH:
                return


class OutTopic:
    """The subscriptions of one repository object."""

    def __init__(self, *, read: ReadEvents, poll_interval: float) -> None:
        self._read = read
        self._poll_interval = poll_interval
        self._lock = threading.Lock()
        self._subscriptions: list[Subscription] = []
        self._closed = False

    def subscribe(self, listener: EventListener, *, position: int) -> Callable[[], None]:
        with self._lock:
            if self._closed:
                raise RepositoryError("the repository is closed")
            subscription = Subscription(
                listener=listener, position=position, read=self._read, poll_interval=self._poll_interval
            )
            self._subscriptions.append(subscription)

        def unregister() -> None:
            with self._lock:
                if subscription in self._subscriptions:
                    self._subscriptions.remove(subscription)
            subscription.stop()

        return unregister

    def wake_all(self) -> None:
        with self._lock:
            subscriptions = list(self._subscriptions)
        for subscription in subscriptions:
            subscription.wake()

    @property
    def has_subscriptions(self) -> bool:
        with self._lock:
            return bool(self._subscriptions)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            subscriptions, self._subscriptions = self._subscriptions, []
        for subscription in subscriptions:
            subscription.stop()
