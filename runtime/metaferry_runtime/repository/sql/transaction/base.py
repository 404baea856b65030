"""What every part of the SQL transaction shares: its connection, its two record caches, its events, its
clock, and the flush and commit that write them.

Data flow: a write finds its record through a cache (`self._elements`, `self._relationships`), checks the
rules (rules.py), mutates the record, tells the cache it is new or changed, and queues an event
(`self._events`); `flush()` writes both caches (before any query that could see them, and at commit), and
`commit()` then inserts the events and COMMITs. The writes themselves are in elements.py, observation.py
and relationships.py, the reads in retrieval.py; transaction.py puts them together.

The first upserts of a transaction look their keys up one by one; past PRELOAD_AFTER_LOOKUPS the
transaction loads every record the actor owns, so later upserts are a dictionary look-up and an equality
test: a refresh that changes nothing writes only the observation times.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Connection, RootTransaction

from metaferry_runtime.repository.errors import ElementNotFound, RepositoryError, TransactionAborted
from metaferry_runtime.repository.interface import Transaction
from metaferry_runtime.repository.model import ChangeCounts, ChangeKind
from metaferry_runtime.repository.sql.codec import new_guid
from metaferry_runtime.repository.sql.records import ACTIVE, ARCHIVED, ElementRecord, RelationshipRecord
from metaferry_runtime.repository.sql.transaction import rules
from metaferry_runtime.repository.sql.transaction.cache import RELATIONSHIPS, ElementCache, RecordCache
from metaferry_runtime.repository.sql.transaction.connection import ABORTED, GuardedConnection
from metaferry_runtime.repository.sql.transaction.events import EventQueue
from metaferry_runtime.repository.types import TypeRegistry

# A transaction's first upserts look their keys up one by one; past this many it loads everything the actor
# owns at once (a refresh), so small event-driven transactions never pay for a whole collection.
PRELOAD_AFTER_LOOKUPS = 64


class Clock:
    """A transaction's time, and its ISO text cached (the time of nearly everything it writes).

    Apart from the transaction so that what it hands its parts (`iso` to the event queue) holds no reference
    back to it: a cycle would keep a refresh's records alive after it ends, until a full collection.
    """

    def __init__(self) -> None:
        self.now = datetime.now(UTC)
        self._now_iso = self.now.isoformat()

    def iso(self, value: datetime) -> str:
        return self._now_iso if value is self.now else value.isoformat()


class TransactionBase(Transaction):
    """One open database transaction on a connection of its own. Use it from the thread that opened it;
    only `abort()` may be called from another thread."""

    def __init__(
        self,
        *,
        connection: Connection,
        begun: RootTransaction,
        types: TypeRegistry,
        actor: str,
        refresh_id: str | None,
    ) -> None:
        self.actor = actor
        self.refresh_id = refresh_id
        self.counts = ChangeCounts()
        self._types = types
        self._db = GuardedConnection(connection, begun)
        clock = Clock()
        self._observed_at = clock.now  # the time of every change and observation it makes
        self._iso = clock.iso
        observed_values: dict[str, Any] = {"last_observed_time": self._observed_at}
        if refresh_id is not None:
            observed_values["last_refresh_id"] = refresh_id
        self._elements = ElementCache(self._db, observed_values=observed_values)
        self._relationships: RecordCache[RelationshipRecord, tuple[str, str, str]] = RecordCache(
            RELATIONSHIPS, self._db
        )
        self._events = EventQueue(actor=actor, refresh_id=refresh_id, iso=self._iso)
        # What validation this transaction has done once and need not repeat (see elements, relationships).
        self._validated_shapes: set[tuple[str, ...]] = set()
        self._valid_bare_links: set[tuple[str, str, str]] = set()
        self._closed = False
        self._poisoned: BaseException | None = None

    # --- state --------------------------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._db.aborted:
            raise TransactionAborted(ABORTED)
        if self._closed:
            raise RepositoryError("this transaction has ended; open a new one")
        if self._poisoned is not None:
            raise RepositoryError(f"this transaction failed earlier and will roll back: {self._poisoned}")

    # --- records ------------------------------------------------------------------------------------------
    def _require(self, guid: str, *, include_archived: bool = False) -> ElementRecord:
        record = self._elements.get(guid)
        if record is None or (record.status == ARCHIVED and not include_archived):
            raise ElementNotFound(f"no {'' if include_archived else 'active '}element with guid {guid}")
        return record

    def _require_owner(self, record: rules.Owned, action: str) -> None:
        rules.require_owner(self.actor, record, action)

    def _harvested(self, type_name: str, qualified_name: str, properties: Mapping[str, Any]) -> dict[str, Any]:
        """Properties validated against the element type, as stored (see rules)."""
        validated = self._types.validate_element(type_name, properties)
        rules.drop_qualified_name(validated, qualified_name)
        return rules.without_none(validated) if None in validated.values() else validated

    def _load_owned(self, cache: RecordCache[Any, Any]) -> None:
        self.flush()
        cache.load_owned(self.actor)

    def _stamp(self, record: ElementRecord | RelationshipRecord) -> None:
        """A change: its version and update time (and the refresh that made it)."""
        record.version += 1
        record.update_time = self._observed_at
        if self.refresh_id is not None:
            record.last_refresh_id = self.refresh_id

    def _new_record_fields(self) -> dict[str, Any]:
        """The fields every record this transaction creates starts with: a new GUID, the actor's, active."""
        now = self._observed_at
        return {
            "guid": new_guid(),
            "collection": self.actor,
            "status": ACTIVE,
            "version": 1,
            "create_time": now,
            "update_time": now,
            "created_by_refresh": self.refresh_id,
            "last_refresh_id": self.refresh_id,
        }

    def _element_changed(
        self, record: ElementRecord, previous: tuple[Any, ...], kind: ChangeKind = ChangeKind.ELEMENT_UPDATED
    ) -> None:
        """After a change to `record`, whose snapshot was `previous`: stamp and queue it, and its event."""
        self._changed(record)
        self._events.emit(kind, element=record.snapshot(), previous_element=previous)

    def _observe(self, record: ElementRecord) -> None:
        record.last_observed_time = self._observed_at
        if self.refresh_id is not None:
            record.last_refresh_id = self.refresh_id
        self._elements.observed_record(record)

    def _changed(self, record: ElementRecord) -> None:
        self._stamp(record)
        self._elements.changed(record)

    # --- flush and commit ---------------------------------------------------------------------------------
    def flush(self) -> None:
        """Write what is queued (events excepted: they go at commit). Raises NotOwner for a deferred conflict;
        any failure poisons the transaction (it can only roll back)."""
        if self._poisoned is not None:
            raise RepositoryError(f"this transaction failed earlier and will roll back: {self._poisoned}")
        try:
            self._elements.flush(self.actor)
            self._relationships.flush(self.actor)
        except BaseException as error:
            self._poisoned = error
            raise

    def commit(self) -> int:
        """Write everything and COMMIT, as one use of the connection; returns the number of events written.
        Called by the repository when the `with` block ends normally."""
        with self._db.held():
            wrote = self.commit_writes()
            self._db.commit()
            return wrote

    def commit_writes(self) -> int:
        """Flush, then insert the events. Returns the number of events written. Called by `commit` just
        before COMMIT."""
        self._check_open()
        self.flush()
        return self._events.write(self._db, properties_text=self._properties_text)

    def _properties_text(self, state: tuple[Any, ...]) -> str | None:
        record = self._elements.by_guid.get(state[0])
        return None if record is None else record.properties_json_of(state)

    def rollback(self) -> None:
        """Called by the repository when the `with` block raised."""
        self._db.rollback()

    def close(self) -> None:
        """End the transaction's use of its connection (back to the pool; discarded if aborted)."""
        self._closed = True
        self._db.close()

    def abort(self) -> None:
        self._db.abort()
