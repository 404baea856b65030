"""PostgreSQL LISTEN: one connection per repository object that wakes the out-topic on every NOTIFY.

The notification carries no data; it only says "read the outbox". The connection is psycopg's own (not
pooled: LISTEN belongs to a session). When it drops (the database restarted), it reconnects with capped
backoff and wakes every subscription once connected, since notifications sent meanwhile are lost but the
events are not: subscriptions re-read the outbox from their own position.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

MAX_BACKOFF = 5.0


class NotificationListener:
    def __init__(self, *, dsn: str, channel: str, on_notify: Callable[[], None]) -> None:
        self._dsn = dsn
        self._channel = channel
        self._on_notify = on_notify
        self._stop = threading.Event()
        self.connected = threading.Event()
        self._thread = threading.Thread(target=self._run, name="metaferry-pg-listen", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        backoff = 0.1
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._dsn, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
                    self.connected.set()
                    backoff = 0.1
                    self._on_notify()  # catch up on whatever was committed while we were not listening
                    while not self._stop.is_set():
                        woke = False
                        for _ in conn.notifies(timeout=0.5):
                            woke = True
                            break
                        if woke:
                            self._on_notify()
            except psycopg.Error as error:
                self.connected.clear()
                if self._stop.is_set():
                    return
                log.warning("out-topic LISTEN connection lost (retrying in %.1fs): %s", backoff, error)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)

    def close(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
