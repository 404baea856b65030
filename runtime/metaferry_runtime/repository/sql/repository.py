"""The SQL repository: one implementation of MetadataRepository for SQLite and PostgreSQL.

A transaction is one database transaction on a pooled connection (BEGIN IMMEDIATE on SQLite, READ
COMMITTED on PostgreSQL) driving a SqlTransaction; leaving the `with` block normally flushes, writes the
events and commits, an exception rolls everything back (events included, since they are rows of the same
transaction). After a commit this process's subscriptions are woken at once; other processes learn of it
by NOTIFY (PostgreSQL) or by polling (SQLite).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select, text

from metaferry_runtime.repository.errors import RepositoryError
from metaferry_runtime.repository.interface import EventListener, MetadataRepository, Transaction
from metaferry_runtime.repository.model import ChangeEvent
from metaferry_runtime.repository.sql.codec import aware
from metaferry_runtime.repository.sql.collector import fewer_collections
from metaferry_runtime.repository.sql.engines import Engines, libpq_dsn, make_engines
from metaferry_runtime.repository.sql.outtopic import OutTopic
from metaferry_runtime.repository.sql.schema import EVENTS_LOCK_KEY, ensure_schema, events
from metaferry_runtime.repository.sql.transaction import NOTIFY_CHANNEL, SqlTransaction, database_errors
from metaferry_runtime.repository.types import TypeRegistry, default_registry

if TYPE_CHECKING:
    from metaferry_runtime.repository.sql.pg_notifications import NotificationListener

log = logging.getLogger(__name__)

#: The actor of a `reader()`: it writes nothing, so it owns nothing.
READER_ACTOR = "(reader)"


def _event(row: Any) -> ChangeEvent:
    payload = json.loads(row.payload)
    return ChangeEvent.model_validate(
        {
            "sequence": row.sequence,
            "kind": row.kind,
            "event_time": aware(row.event_time),
            "metadata_collection": row.metadata_collection,
            "refresh_id": row.refresh_id,
            **payload,
        }
    )


class SqlRepository(MetadataRepository):
    """Open with `open_repository(url)`. `url` is kept with any password masked."""

    def __init__(self, url: str, *, types: TypeRegistry | None = None, poll_interval: float = 1.0) -> None:
        self._engines: Engines = make_engines(url)
        self.url = self._engines.url.render_as_string(hide_password=True)
        self.types = types or default_registry()
        self._closed = False
        self._lock = threading.Lock()
        with database_errors():
            ensure_schema(self._engines.write)
        self._topic = OutTopic(read=self._read_events, poll_interval=poll_interval)
        self._notifications: NotificationListener | None = None

    @property
    def is_postgresql(self) -> bool:
        return self._engines.is_postgresql

    # --- transactions -------------------------------------------------------------------------------------
    @contextmanager
    def transaction(self, *, actor: str, refresh_id: str | None = None) -> Iterator[Transaction]:
        if self._closed:
            raise RepositoryError("the repository is closed")
        if not actor:
            raise ValueError("a transaction needs an actor (the metadata collection that writes)")
        with database_errors():
            connection = self._engines.write.connect()
        tx: SqlTransaction | None = None
        wrote = 0
        try:
            # A refresh is the bulk case: see collector.py for why it collects garbage less often.
            pause = fewer_collections() if refresh_id is not None else nullcontext()
            with pause, database_errors():
                begun = connection.begin()
                tx = SqlTransaction(
                    connection=connection, begun=begun, types=self.types, actor=actor, refresh_id=refresh_id
                )
                try:
                    yield tx
                    wrote = tx.commit()
                except BaseException:
                    tx.rollback()
                    raise
        finally:
            # From here on the transaction owns the connection (see SqlTransaction.abort): it closes it.
            if tx is not None:
                tx.close()
            else:
                connection.close()
        if wrote:
            self._topic.wake_all()

    @contextmanager
    def reader(self) -> Iterator[Transaction]:
        """A transaction on the read engine (a deferred BEGIN on SQLite: no write lock), always rolled back."""
        if self._closed:
            raise RepositoryError("the repository is closed")
        with database_errors():
            connection = self._engines.read.connect()
        tx: SqlTransaction | None = None
        try:
            with database_errors():
                begun = connection.begin()
                tx = SqlTransaction(
                    connection=connection, begun=begun, types=self.types, actor=READER_ACTOR, refresh_id=None
                )
                try:
                    yield tx
                finally:
                    tx.rollback()
        finally:
            if tx is not None:
                tx.close()
            else:
                connection.close()

    # --- out topic ----------------------------------------------------------------------------------------
    def head_sequence(self) -> int:
        """The sequence of the last committed event (0 when there is none)."""
        with database_errors(), self._engines.read.connect() as conn:
            return int(conn.scalar(select(func.coalesce(func.max(events.c.sequence), 0))) or 0)

    def first_sequence(self) -> int | None:
        with database_errors(), self._engines.read.connect() as conn:
            first = conn.scalar(select(func.min(events.c.sequence)))
        return None if first is None else int(first)

    def prune_events(self, before_sequence: int) -> int:
        """One transaction under the writers' lock (BEGIN IMMEDIATE on SQLite, the events lock on PostgreSQL),
        so it never races a commit's events."""
        with database_errors(), self._engines.write.begin() as conn:
            if self._engines.is_postgresql:
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": EVENTS_LOCK_KEY})
            head = conn.scalar(select(func.max(events.c.sequence)))
            if head is None:
                return 0
            deleted = conn.execute(delete(events).where(events.c.sequence < min(before_sequence, int(head))))
            return int(deleted.rowcount or 0)

    def _read_events(self, after: int, limit: int) -> list[ChangeEvent]:
        with database_errors(), self._engines.read.connect() as conn:
            rows = conn.execute(
                select(events).where(events.c.sequence > after).order_by(events.c.sequence).limit(limit)
            ).all()
        return [_event(row) for row in rows]

    def events_since(self, sequence: int, *, limit: int = 1000) -> Iterator[ChangeEvent]:
        return iter(self._read_events(sequence, limit))

    def register_listener(self, listener: EventListener, *, from_sequence: int | None = None) -> Callable[[], None]:
        """Deliver events with a sequence greater than `from_sequence` (0: all); without it, those committed
        from now on. Pass the last sequence you processed to resume after a disconnect."""
        if self._closed:
            raise RepositoryError("the repository is closed")
        position = self.head_sequence() if from_sequence is None else from_sequence
        if self._engines.is_postgresql:
            self._ensure_notifications()
        return self._topic.subscribe(listener, position=position)

    def _ensure_notifications(self) -> None:
        with self._lock:
            if self._notifications is None:
                # Imported here: psycopg is needed only for PostgreSQL, and an embedded SQLite runtime should
                # not pay its memory.
                from metaferry_runtime.repository.sql.pg_notifications import NotificationListener

                self._notifications = NotificationListener(
                    dsn=libpq_dsn(self._engines.url), channel=NOTIFY_CHANNEL, on_notify=self._topic.wake_all
                )
        self._notifications.connected.wait(5.0)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._topic.close()
        if self._notifications is not None:
            self._notifications.close()
        self._engines.dispose()

    def __enter__(self) -> SqlRepository:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
