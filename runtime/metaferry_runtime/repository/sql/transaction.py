"""The SQL transaction: the repository's semantics over a write-behind buffer.

Why a buffer: a refresh upserts thousands of elements in one transaction, and one statement per element
would make it round-trip bound. So the transaction keeps a record per element it has touched; writes
mutate records and queue them, and `flush()` writes the queue in chunks (executemany inserts, version-
checked updates, one set-based update for "observed, unchanged"). The queue is flushed before every query
that could see it and at commit; events are inserted only at commit, after everything else.

The first upserts of a transaction look their names up one by one; past PRELOAD_AFTER_LOOKUPS the
transaction loads every element the actor owns, so later upserts are a dictionary look-up and an equality
test: a refresh that changes nothing writes only the observation times. A qualified name that is
not the actor's is assumed new; whether another collection owns it is checked in bulk at the next flush
(before any read, at commit), which then raises NotOwner and poisons the transaction: nothing is written.

Records never have their containers mutated in place (a change assigns a new dict or list), so the
snapshot (a tuple of the record's fields) captured for an event stays as it was when the event happened;
its JSON payload is written at commit.

The transaction is the only user of its connection, and every use (statements, COMMIT, ROLLBACK, close)
holds `_guard`, so `abort()` can come from another thread: the runtime abandons a refresh that hangs past
its timeout, and the transaction's locks must not outlive that. Abort interrupts a statement in progress,
takes the guard, discards the connection (the database rolls back and releases the locks) and makes every
later use raise TransactionAborted.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, or_, select, text, tuple_, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, CursorResult, RootTransaction

from metaferry_runtime.repository.errors import (
    DeletionFailSafe,
    DuplicateQualifiedName,
    ElementNotFound,
    FailSafeRefusal,
    NotOwner,
    RepositoryError,
    RepositoryUnavailable,
    StaleVersion,
    TransactionAborted,
    TypeErrorInRepository,
)
from metaferry_runtime.repository.interface import Transaction, UpsertItem
from metaferry_runtime.repository.model import ChangeCounts, ChangeKind, Element, Page, Relationship
from metaferry_runtime.repository.sql import bulk, engines, queries
from metaferry_runtime.repository.sql.records import (
    ACTIVE,
    ARCHIVED,
    ELEMENT_INSERT_COLUMNS,
    RELATIONSHIP_INSERT_COLUMNS,
    ElementRecord,
    RelationshipRecord,
    element_json,
    new_guid,
    relationship_json,
    scalar_properties_json,
)
from metaferry_runtime.repository.sql.schema import (
    EVENTS_LOCK_KEY,
    element_columns,
    elements,
    events,
    relationship_columns,
    relationships,
)
from metaferry_runtime.repository.types import TypeRegistry

NOTIFY_CHANNEL = "metaferry_events"
EVENT_INSERT_COLUMNS = (
    "kind", "event_time", "metadata_collection", "refresh_id", "element_guid", "relationship_guid", "payload",
)  # fmt: skip
INSERT_CHUNK = 2_000
IN_CHUNK = 500
# A transaction's first upserts look their names up one by one; past this many it loads everything the actor
# owns at once (a refresh), so small event-driven transactions never pay for a whole collection.
PRELOAD_AFTER_LOOKUPS = 64
# How long abort() waits for an interrupted statement to return before leaving the release to its thread.
ABORT_WAIT_SECONDS = 1.0

_ELEMENT_UPDATE = (
    update(elements).where(elements.c.guid == bindparam("b_guid")).where(elements.c.version == bindparam("b_version"))
)
_RELATIONSHIP_UPDATE = (
    update(relationships)
    .where(relationships.c.guid == bindparam("b_guid"))
    .where(relationships.c.version == bindparam("b_version"))
)


# An out-topic event as queued: (kind, element, previous element, relationship, previous relationship), each
# a record snapshot or None.
_Event = tuple[str, tuple[Any, ...] | None, tuple[Any, ...] | None, tuple[Any, ...] | None, tuple[Any, ...] | None]


_ABSENT = object()
ABORTED = "this transaction was aborted (its refresh was abandoned); nothing of it is written"


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _without_none(properties: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in properties.items() if v is not None}


@contextmanager
def database_errors() -> Iterator[None]:
    """Translate driver failures into the repository's errors."""
    try:
        yield
    except (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError) as error:
        reason = getattr(error, "orig", None) or error
        raise RepositoryUnavailable(f"the repository database cannot be reached: {reason}") from error
    except sa_exc.IntegrityError as error:
        if "qualified_name" in str(error.orig):
            raise DuplicateQualifiedName(f"an element with this qualified name already exists: {error.orig}") from error
        raise RepositoryError(f"the database refused a write: {error.orig}") from error


class SqlTransaction(Transaction):
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
        self._conn = connection
        self._begun = begun
        self._driver_connection = connection.connection.dbapi_connection  # what abort() interrupts
        self._guard = threading.RLock()  # held by every use of the connection, and by abort()
        self._aborted = False
        self._released = False
        self._types = types
        self._postgresql = connection.dialect.name == "postgresql"
        self._element_columns = element_columns(self._postgresql)
        self._relationship_columns = relationship_columns(self._postgresql)
        self._observed_at = datetime.now(UTC)  # the time of every change and observation it makes
        self._observed_iso = self._observed_at.isoformat()
        self._time = bulk.time_writer(connection)
        self._closed = False
        self._poisoned: BaseException | None = None
        # element records
        self._by_guid: dict[str, ElementRecord] = {}
        self._by_name: dict[str, ElementRecord] = {}
        self._actor_loaded = False
        self._lookups = 0
        self._new: dict[str, ElementRecord] = {}
        self._dirty: dict[str, ElementRecord] = {}
        self._observed: set[str] = set()
        self._observed_pending: set[str] = set()
        self._unchecked_names: set[str] = set()
        # relationship records
        self._rel_by_guid: dict[str, RelationshipRecord] = {}
        self._rel_by_key: dict[tuple[str, str, str], RelationshipRecord] = {}
        self._rels_loaded = False
        self._rel_lookups = 0
        self._new_rels: dict[str, RelationshipRecord] = {}
        self._dirty_rels: dict[str, RelationshipRecord] = {}
        self._unchecked_rel_keys: set[tuple[str, str, str]] = set()
        self._valid_bare_links: set[tuple[str, str, str]] = set()
        self._validated_shapes: set[tuple[str, ...]] = set()
        # out-topic events, inserted at commit
        self._events: list[_Event] = []

    # === plumbing ===========================================================================================
    def _check_open(self) -> None:
        if self._aborted:
            raise TransactionAborted(ABORTED)
        if self._closed:
            raise RepositoryError("this transaction has ended; open a new one")
        if self._poisoned is not None:
            raise RepositoryError(f"this transaction failed earlier and will roll back: {self._poisoned}")

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        """The connection for one use, held against `abort()` meanwhile; TransactionAborted once aborted."""
        with self._guard:
            try:
                if self._aborted:
                    raise TransactionAborted(ABORTED)
                try:
                    with database_errors():
                        yield self._conn
                except Exception as error:  # the driver's own errors too: COPY bypasses SQLAlchemy
                    if self._aborted:  # the statement was interrupted by abort()
                        raise TransactionAborted(ABORTED) from error
                    raise
            finally:
                if self._aborted:  # abort() could not take the guard in time: release it here
                    self._release(discard=True)

    def _execute(self, statement: Any, parameters: Any = None) -> CursorResult[Any]:
        with self._connection() as connection:
            return connection.execute(statement, parameters)

    def _emit(
        self,
        kind: ChangeKind,
        *,
        element: tuple[Any, ...] | None = None,
        previous_element: tuple[Any, ...] | None = None,
        relationship: tuple[Any, ...] | None = None,
        previous_relationship: tuple[Any, ...] | None = None,
    ) -> None:
        """Queue an event; its payload is built from the record snapshots at commit (see `_event_row`)."""
        self._events.append((kind.value, element, previous_element, relationship, previous_relationship))

    def _iso(self, value: datetime) -> str:
        """isoformat, cached for the transaction's own time (the time of nearly everything it writes)."""
        return self._observed_iso if value is self._observed_at else value.isoformat()

    def _element_json(self, state: tuple[Any, ...]) -> str:
        record = self._by_guid.get(state[0])
        return element_json(state, self._iso, None if record is None else record.properties_json_of(state))

    def _event_row(self, event: _Event, now: Any) -> tuple[Any, ...]:
        kind, element, previous_element, relationship, previous_relationship = event
        iso = self._iso
        payload = (
            f'{{"element":{"null" if element is None else self._element_json(element)},'
            f'"previous_element":{"null" if previous_element is None else element_json(previous_element, iso)},'
            f'"relationship":{"null" if relationship is None else relationship_json(relationship, iso)},'
            '"previous_relationship":'
            f"{'null' if previous_relationship is None else relationship_json(previous_relationship, iso)}}}"
        )  # dumps() of the payload dict, written directly: see records.element_json
        element_state = element or previous_element
        relationship_state = relationship or previous_relationship
        return (
            kind,
            now,
            self.actor,
            self.refresh_id,
            None if element_state is None else element_state[0],
            None if relationship_state is None else relationship_state[0],
            payload,
        )

    def _remember(self, record: ElementRecord) -> ElementRecord:
        """Cache a record read from the database unless this transaction already has (a newer) one."""
        known = self._by_guid.get(record.guid)
        if known is not None:
            return known
        self._by_guid[record.guid] = record
        self._by_name[record.qualified_name] = record
        return record

    def _fetch(self, guid: str) -> ElementRecord | None:
        record = self._by_guid.get(guid)
        if record is None:
            row = self._execute(select(*self._element_columns).where(elements.c.guid == guid)).first()
            if row is None:
                return None
            record = self._remember(ElementRecord.from_row(row))
        return record

    def _require(self, guid: str, *, include_archived: bool = False) -> ElementRecord:
        record = self._fetch(guid)
        if record is None or (record.status == ARCHIVED and not include_archived):
            raise ElementNotFound(f"no {'' if include_archived else 'active '}element with guid {guid}")
        return record

    def _require_owner(self, record: ElementRecord, action: str) -> None:
        if record.collection != self.actor:
            raise NotOwner(
                f"{self.actor} may not {action} {record.type_name} {record.qualified_name!r}: "
                f"it is owned by metadata collection {record.collection}"
            )

    def _harvested(self, type_name: str, qualified_name: str, properties: Mapping[str, Any]) -> dict[str, Any]:
        validated = self._types.validate_element(type_name, properties)
        named = validated.pop("qualifiedName", None)
        if named is not None and named != qualified_name:
            raise TypeErrorInRepository(
                f"property qualifiedName {named!r} differs from the element's qualified name {qualified_name!r}"
            )
        return _without_none(validated) if None in validated.values() else validated

    def _is_unchanged_upsert(self, record: ElementRecord, type_name: str, properties: Mapping[str, Any]) -> bool:
        """True when upserting these properties would leave the actor's active `record` as it is.

        Why: validating the properties through the type registry was a third of an unchanged upsert. Values
        equal to the stored ones and of the same Python types (so True is not taken for 1, nor 1.0 for 1)
        were validated when they were stored, so they need no second validation. The first upsert of each
        type and set of property names in a transaction is still validated in full, so a type definition
        that changed since the values were stored is still enforced. Properties read from SQLite are compared
        as JSON text while they can be (see ElementRecord.properties).
        """
        if record.status != ACTIVE or record.type_name != type_name or record.collection != self.actor:
            return False
        shape = (type_name, *properties)
        validated = shape in self._validated_shapes
        stored_text = record.stored_properties_text()
        if validated and stored_text is not None and scalar_properties_json(properties) == stored_text:
            return True  # equal texts, equal values (see scalar_properties_json): no need to decode the stored
        stored = record.properties
        if len(properties) != len(stored):
            return False
        for name, value in properties.items():
            held = stored.get(name, _ABSENT)
            if value != held or type(value) is not type(held):
                return False
        if not validated:
            if self._harvested(type_name, record.qualified_name, properties) != stored:
                return False
            self._validated_shapes.add(shape)
        return True

    def _observe(self, record: ElementRecord) -> None:
        record.last_observed_time = self._observed_at
        if self.refresh_id is not None:
            record.last_refresh_id = self.refresh_id
        self._observed.add(record.guid)
        if record.db_version is not None and record.guid not in self._dirty:
            self._observed_pending.add(record.guid)

    def _changed(self, record: ElementRecord) -> None:
        record.version += 1
        record.update_time = self._observed_at
        if self.refresh_id is not None:
            record.last_refresh_id = self.refresh_id
        if record.db_version is not None:
            self._dirty[record.guid] = record
            self._observed_pending.discard(record.guid)

    def _new_record(
        self,
        type_name: str,
        qualified_name: str,
        properties: dict[str, Any],
        classifications: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> ElementRecord:
        now = self._observed_at
        record = ElementRecord(
            guid=new_guid(),
            type_name=type_name,
            qualified_name=qualified_name,
            properties=properties,
            curated={},
            classifications={
                name: _without_none(self._types.validate_classification(name, type_name, props))
                for name, props in (classifications or {}).items()
            },
            zones=[],
            collection=self.actor,
            status=ACTIVE,
            version=1,
            create_time=now,
            update_time=now,
            created_by_refresh=self.refresh_id,
            last_refresh_id=self.refresh_id,
            last_observed_time=self._observed_at,
            db_version=None,
        )
        self._by_guid[record.guid] = record
        self._by_name[qualified_name] = record
        self._new[record.guid] = record
        self._observed.add(record.guid)
        self.counts.created += 1
        self._emit(ChangeKind.ELEMENT_CREATED, element=record.snapshot())
        return record

    def _load_actor_elements(self) -> None:
        """Load every element the actor owns (active and archived): upserts then need no queries."""
        self.flush()
        result = self._execute(select(*self._element_columns).where(elements.c.metadata_collection == self.actor))
        for row in result.all():  # one fetchall: iterating the result fetches row by row
            self._remember(ElementRecord.from_row(row))
        self._actor_loaded = True

    def _load_actor_relationships(self) -> None:
        self.flush()
        result = self._execute(
            select(*self._relationship_columns).where(relationships.c.metadata_collection == self.actor)
        )
        for row in result.all():
            self._remember_relationship(RelationshipRecord.from_row(row))
        self._rels_loaded = True

    # === elements ===========================================================================================
    def create_element(
        self,
        type_name: str,
        qualified_name: str,
        properties: Mapping[str, Any],
        *,
        classifications: Mapping[str, Mapping[str, Any]] | None = None,
        zones: Sequence[str] | None = None,
    ) -> Element:
        self._check_open()
        harvested = self._harvested(type_name, qualified_name, properties)
        validated_classifications = {
            name: _without_none(self._types.validate_classification(name, type_name, props))
            for name, props in (classifications or {}).items()
        }
        existing = self._by_name.get(qualified_name)
        if existing is None and qualified_name not in self._unchecked_names:
            row = self._execute(
                select(elements.c.guid, elements.c.metadata_collection).where(
                    elements.c.qualified_name == qualified_name
                )
            ).first()
            if row is not None:
                existing = self._fetch(row.guid)
        if existing is not None:
            raise DuplicateQualifiedName(
                f"an element named {qualified_name!r} already exists ({existing.type_name}, {existing.status.lower()},"
                f" owned by {existing.collection})"
            )
        record = self._new_record(type_name, qualified_name, harvested)
        if validated_classifications or zones:
            # Part of the creation: the CREATED event shows the element with them.
            record.classifications = validated_classifications
            record.zones = list(dict.fromkeys(zones or ()))
            self._events[-1] = (ChangeKind.ELEMENT_CREATED.value, record.snapshot(), None, None, None)
        return record.model()

    def upsert_element(
        self, type_name: str, qualified_name: str, properties: Mapping[str, Any]
    ) -> tuple[Element, ChangeKind]:
        self._check_open()
        record, change = self._upsert_record(type_name, qualified_name, properties)
        return record.model(), change

    def upsert_elements(self, upserts: Iterable[UpsertItem]) -> list[tuple[str, ChangeKind]]:
        self._check_open()
        items = list(upserts)
        if not self._actor_loaded:
            unknown = sum(1 for item in items if item[1] not in self._by_name)
            if self._lookups + unknown > PRELOAD_AFTER_LOOKUPS:
                # These would be looked up one by one up to the limit, and then everything loaded anyway.
                self._load_actor_elements()
        upsert = self._upsert_record
        return [(record.guid, change) for record, change in (upsert(*item) for item in items)]

    def _upsert_record(
        self,
        type_name: str,
        qualified_name: str,
        properties: Mapping[str, Any],
        classifications: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> tuple[ElementRecord, ChangeKind]:
        record = self._by_name.get(qualified_name)
        if record is not None and self._is_unchanged_upsert(record, type_name, properties):
            self._observe(record)
            self.counts.unchanged += 1
            return record, ChangeKind.UNCHANGED
        harvested = self._harvested(type_name, qualified_name, properties)
        if record is None and not self._actor_loaded:
            self._lookups += 1
            if self._lookups > PRELOAD_AFTER_LOOKUPS:
                self._load_actor_elements()
                record = self._by_name.get(qualified_name)
            else:
                row = self._execute(
                    select(*self._element_columns).where(elements.c.qualified_name == qualified_name)
                ).first()
                if row is not None:
                    record = self._remember(ElementRecord.from_row(row))
                else:
                    record = self._new_record(type_name, qualified_name, harvested, classifications)
                    return record, ChangeKind.ELEMENT_CREATED
        if record is None:
            self._unchecked_names.add(qualified_name)
            return self._new_record(type_name, qualified_name, harvested, classifications), ChangeKind.ELEMENT_CREATED
        self._require_owner(record, "update")
        if record.status == ARCHIVED:
            previous = record.snapshot()
            record.status = ACTIVE
            record.type_name = type_name
            record.properties = harvested
            self._observe(record)
            self._changed(record)
            self.counts.restored += 1
            self._emit(ChangeKind.ELEMENT_RESTORED, element=record.snapshot(), previous_element=previous)
            return record, ChangeKind.ELEMENT_RESTORED
        if record.properties == harvested and record.type_name == type_name:
            self._observe(record)
            self.counts.unchanged += 1
            return record, ChangeKind.UNCHANGED
        previous = record.snapshot()
        record.type_name = type_name
        record.properties = harvested
        self._observe(record)
        self._changed(record)
        self.counts.updated += 1
        self._emit(ChangeKind.ELEMENT_UPDATED, element=record.snapshot(), previous_element=previous)
        return record, ChangeKind.ELEMENT_UPDATED

    def update_element(
        self,
        guid: str,
        properties: Mapping[str, Any],
        *,
        merge: bool = True,
        expected_version: int | None = None,
    ) -> Element:
        self._check_open()
        record = self._require(guid)
        self._require_owner(record, "update")
        if expected_version is not None and expected_version != record.version:
            raise StaleVersion(
                f"{record.qualified_name!r} is at version {record.version}, not {expected_version}: "
                "it changed since it was read; read it again and retry"
            )
        validated = self._types.validate_element(record.type_name, properties)
        named = validated.pop("qualifiedName", None)
        if named is not None and named != record.qualified_name:
            raise TypeErrorInRepository("the qualifiedName property cannot rename an element")
        harvested = _without_none({**record.properties, **validated} if merge else validated)
        self._observe(record)
        if harvested == record.properties:
            self.counts.unchanged += 1
            return record.model()
        previous = record.snapshot()
        record.properties = harvested
        self._changed(record)
        self.counts.updated += 1
        self._emit(ChangeKind.ELEMENT_UPDATED, element=record.snapshot(), previous_element=previous)
        return record.model()

    def curate_element(self, guid: str, properties: Mapping[str, Any], *, curator: str) -> Element:
        """Merge human edits, each changed property recorded as the curator's at this transaction's time; a
        None value removes that curation and its record (the harvested value shows again)."""
        if not curator.strip():
            raise ValueError("a curation needs its curator: the person who made the edit")
        self._check_open()
        record = self._require(guid)
        validated = self._types.validate_element(record.type_name, properties)
        if validated.get("qualifiedName") not in (None, record.qualified_name):
            raise TypeErrorInRepository("the qualifiedName property cannot rename an element")
        validated.pop("qualifiedName", None)
        curated = _without_none({**record.curated, **validated})
        if curated == record.curated:
            return record.model()
        previous = record.snapshot()
        stamp = {"curator": curator, "time": self._iso(self._observed_at)}
        curations = {name: curation for name, curation in record.curations.items() if name in curated}
        for name, value in validated.items():
            if value is not None and record.curated.get(name, _ABSENT) != value:
                curations[name] = stamp
        record.curated = curated
        record.curations = curations
        self._changed(record)
        self.counts.updated += 1
        self._emit(ChangeKind.ELEMENT_UPDATED, element=record.snapshot(), previous_element=previous)
        return record.model()

    def _set_status(self, record: ElementRecord, status: str, kind: ChangeKind) -> None:
        previous = record.snapshot()
        record.status = status
        self._changed(record)
        self._emit(kind, element=record.snapshot(), previous_element=previous)

    def archive_element(self, guid: str) -> Element:
        self._check_open()
        record = self._require(guid, include_archived=True)
        self._require_owner(record, "archive")
        if record.status != ARCHIVED:
            self._set_status(record, ARCHIVED, ChangeKind.ELEMENT_ARCHIVED)
            self.counts.archived += 1
        return record.model()

    def restore_element(self, guid: str) -> Element:
        self._check_open()
        record = self._require(guid, include_archived=True)
        self._require_owner(record, "restore")
        if record.status != ACTIVE:
            self._set_status(record, ACTIVE, ChangeKind.ELEMENT_RESTORED)
            self.counts.restored += 1
        return record.model()

    def delete_element(self, guid: str) -> None:
        """Purge it and its relationships; the events carry the last state in `previous_element`/`_relationship`."""
        self._check_open()
        record = self._require(guid, include_archived=True)
        self._require_owner(record, "delete")
        self.flush()
        attached = self._execute(
            select(*self._relationship_columns).where(
                or_(relationships.c.end1_guid == guid, relationships.c.end2_guid == guid)
            )
        ).all()
        for row in attached:
            rel = self._rel_by_guid.get(row.guid) or RelationshipRecord.from_row(row)
            self._forget_relationship(rel)
            self._emit(ChangeKind.RELATIONSHIP_DELETED, previous_relationship=rel.snapshot())
        self._execute(
            delete(relationships).where(or_(relationships.c.end1_guid == guid, relationships.c.end2_guid == guid))
        )
        deleted = self._execute(
            delete(elements).where(elements.c.guid == guid).where(elements.c.version == record.db_version)
        )
        if deleted.rowcount != 1:
            raise StaleVersion(f"{record.qualified_name!r} changed in another transaction; it was not deleted")
        del self._by_guid[guid]
        self._by_name.pop(record.qualified_name, None)
        self._observed.discard(guid)
        self._observed_pending.discard(guid)
        self.counts.deleted += 1
        self._emit(ChangeKind.ELEMENT_DELETED, previous_element=record.snapshot())

    def classify_element(self, guid: str, classification: str, properties: Mapping[str, Any] | None = None) -> Element:
        """Only the owning collection may classify (as it alone may update): see the interface."""
        self._check_open()
        record = self._require(guid)
        self._require_owner(record, "classify")
        validated = _without_none(self._types.validate_classification(classification, record.type_name, properties))
        existing = record.classifications.get(classification)
        if existing == validated:
            return record.model()
        previous = record.snapshot()
        record.classifications = {**record.classifications, classification: validated}
        self._changed(record)
        self.counts.updated += 1
        kind = ChangeKind.ELEMENT_CLASSIFIED if existing is None else ChangeKind.ELEMENT_RECLASSIFIED
        self._emit(kind, element=record.snapshot(), previous_element=previous)
        return record.model()

    def declassify_element(self, guid: str, classification: str) -> Element:
        self._check_open()
        self._types.classification(classification)
        record = self._require(guid)
        self._require_owner(record, "declassify")
        if classification not in record.classifications:
            return record.model()
        previous = record.snapshot()
        record.classifications = {k: v for k, v in record.classifications.items() if k != classification}
        self._changed(record)
        self.counts.updated += 1
        self._emit(ChangeKind.ELEMENT_DECLASSIFIED, element=record.snapshot(), previous_element=previous)
        return record.model()

    def _set_zones(self, record: ElementRecord, zones: list[str]) -> None:
        if zones == record.zones:
            return
        previous = record.snapshot()
        record.zones = zones
        self._changed(record)
        self.counts.updated += 1
        self._emit(ChangeKind.ELEMENT_UPDATED, element=record.snapshot(), previous_element=previous)

    def publish_element(self, guid: str, zones: Sequence[str]) -> Element:
        self._check_open()
        record = self._require(guid)
        self._require_owner(record, "publish")
        self._set_zones(record, list(dict.fromkeys([*record.zones, *zones])))
        return record.model()

    def withdraw_element(self, guid: str, zones: Sequence[str] | None = None) -> Element:
        self._check_open()
        record = self._require(guid)
        self._require_owner(record, "withdraw")
        self._set_zones(record, [] if zones is None else [z for z in record.zones if z not in set(zones)])
        return record.model()

    def mark_observed(self, guid: str) -> None:
        self._check_open()
        record = self._require(guid)
        self._require_owner(record, "mark as observed")
        self._observe(record)

    def mark_observed_by_names(self, qualified_names: Iterable[str]) -> list[str]:
        """Elements not in memory are found by name and observed by GUID, never loaded: a no-change refresh
        of a large catalogue would otherwise build a full record per element only to write its observed time
        (which the flush does for all of them in one set-based statement)."""
        self._check_open()
        names = list(qualified_names)
        by_name, actor, observe = self._by_name, self.actor, self._observe
        unloaded: dict[str, str] = {}
        if not self._actor_loaded:
            unknown = [name for name in names if name not in by_name]
            owned = select(elements.c.qualified_name, elements.c.guid).where(
                elements.c.metadata_collection == actor, elements.c.status == ACTIVE
            )
            if len(unknown) <= IN_CHUNK:  # beyond that, one scan of two columns beats many IN lists
                owned = owned.where(elements.c.qualified_name.in_(unknown))
            if unknown:
                unloaded.update((row.qualified_name, row.guid) for row in self._execute(owned))
        missing: list[str] = []
        for qualified_name in names:
            record = by_name.get(qualified_name)
            if record is not None:
                if record.status != ACTIVE or record.collection != actor:
                    missing.append(qualified_name)
                else:
                    observe(record)
            elif (guid := unloaded.get(qualified_name)) is not None:
                self._observed.add(guid)
                self._observed_pending.add(guid)
            else:
                missing.append(qualified_name)
        return missing

    def archive_unobserved(
        self,
        *,
        type_names: Sequence[str],
        scope_prefix: str | None = None,
        max_archive_percent: int = 50,
        dry_run: bool = False,
    ) -> list[Element]:
        self._check_open()
        if not 0 <= max_archive_percent <= 100:
            raise ValueError("max_archive_percent must be between 0 and 100")
        in_scope: set[str] = set()
        for name in type_names:
            in_scope |= self._types.subtypes(name)
        self.flush()
        query = select(elements.c.guid).where(
            elements.c.metadata_collection == self.actor,
            elements.c.status == ACTIVE,
            elements.c.type_name.in_(sorted(in_scope)),
        )
        if scope_prefix:
            query = query.where(func.substr(elements.c.qualified_name, 1, len(scope_prefix)) == scope_prefix)
        candidates = self._execute(query).scalars().all()
        unobserved = [guid for guid in candidates if guid not in self._observed]
        if not unobserved:
            return []
        if len(unobserved) * 100 > max_archive_percent * len(candidates):
            under = f" under {scope_prefix!r}" if scope_prefix else ""
            scope = f"{'/'.join(type_names)} elements{under}"
            raise DeletionFailSafe(
                f"deletion detection would archive {len(unobserved)} of the {len(candidates)} "
                f"{scope} owned by {self.actor} "
                f"({len(unobserved) * 100 / len(candidates):.0f}%), more than the fail-safe allows "
                f"({max_archive_percent}%); nothing was archived",
                refusal=FailSafeRefusal(
                    scope=scope,
                    would_archive=len(unobserved),
                    in_scope=len(candidates),
                    max_archive_percent=max_archive_percent,
                ),
            )
        records = self._fetch_many(unobserved)
        if dry_run:
            self.counts.would_archive += len(records)
            return [record.model() for record in records]
        for record in records:
            self._set_status(record, ARCHIVED, ChangeKind.ELEMENT_ARCHIVED)
            self.counts.archived += 1
        return [record.model() for record in records]

    def _fetch_many(self, guids: Sequence[str]) -> list[ElementRecord]:
        missing = [guid for guid in guids if guid not in self._by_guid]
        for chunk in _chunks(missing, IN_CHUNK):
            for row in self._execute(select(*self._element_columns).where(elements.c.guid.in_(chunk))):
                self._remember(ElementRecord.from_row(row))
        return [self._by_guid[guid] for guid in guids if guid in self._by_guid]

    # === relationships ======================================================================================
    def _remember_relationship(self, record: RelationshipRecord) -> RelationshipRecord:
        known = self._rel_by_guid.get(record.guid)
        if known is not None:
            return known
        self._rel_by_guid[record.guid] = record
        self._rel_by_key.setdefault(record.key, record)
        return record

    def _forget_relationship(self, record: RelationshipRecord) -> None:
        self._rel_by_guid.pop(record.guid, None)
        if self._rel_by_key.get(record.key) is record:
            del self._rel_by_key[record.key]
        self._new_rels.pop(record.guid, None)
        self._dirty_rels.pop(record.guid, None)

    def _relationship_properties(
        self, type_name: str, end1: ElementRecord, end2: ElementRecord, properties: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """Validated properties. Why the cache: most links carry no properties, and a refresh makes one per
        element; checking the same (type, end types) against the registry every time cost more than the link."""
        if not properties:
            shape = (type_name, end1.type_name, end2.type_name)
            if shape not in self._valid_bare_links:
                self._types.validate_relationship(*shape, None)
                self._valid_bare_links.add(shape)
            return {}
        return _without_none(self._types.validate_relationship(type_name, end1.type_name, end2.type_name, properties))

    def _new_relationship(self, type_name: str, end1: str, end2: str, properties: dict[str, Any]) -> RelationshipRecord:
        now = self._observed_at
        record = RelationshipRecord(
            guid=new_guid(),
            type_name=type_name,
            end1_guid=end1,
            end2_guid=end2,
            properties=properties,
            collection=self.actor,
            status=ACTIVE,
            version=1,
            create_time=now,
            update_time=now,
            created_by_refresh=self.refresh_id,
            last_refresh_id=self.refresh_id,
            db_version=None,
        )
        self._remember_relationship(record)
        self._new_rels[record.guid] = record
        self._emit(ChangeKind.RELATIONSHIP_CREATED, relationship=record.snapshot())
        return record

    def create_relationship(
        self, type_name: str, end1_guid: str, end2_guid: str, properties: Mapping[str, Any] | None = None
    ) -> Relationship:
        self._check_open()
        end1, end2 = self._require(end1_guid), self._require(end2_guid)
        validated = self._relationship_properties(type_name, end1, end2, properties)
        return self._new_relationship(type_name, end1_guid, end2_guid, validated).model()

    def upsert_relationship(
        self, type_name: str, end1_guid: str, end2_guid: str, properties: Mapping[str, Any] | None = None
    ) -> tuple[Relationship, ChangeKind]:
        self._check_open()
        record, change = self._upsert_relationship_record(type_name, end1_guid, end2_guid, properties)
        return record.model(), change

    def upsert_relationships(
        self, upserts: Iterable[tuple[str, str, str, Mapping[str, Any] | None]]
    ) -> list[tuple[str, ChangeKind]]:
        self._check_open()
        upsert = self._upsert_relationship_record
        return [(record.guid, change) for record, change in (upsert(*item) for item in upserts)]

    def _upsert_relationship_record(
        self, type_name: str, end1_guid: str, end2_guid: str, properties: Mapping[str, Any] | None
    ) -> tuple[RelationshipRecord, ChangeKind]:
        end1, end2 = self._require(end1_guid), self._require(end2_guid)
        validated = self._relationship_properties(type_name, end1, end2, properties)
        key = (type_name, end1_guid, end2_guid)
        record = self._rel_by_key.get(key)
        checked = False
        if record is None and not self._rels_loaded:
            self._rel_lookups += 1
            if self._rel_lookups > PRELOAD_AFTER_LOOKUPS:
                self._load_actor_relationships()
                record = self._rel_by_key.get(key)
            elif end1.db_version is not None and end2.db_version is not None:
                row = self._execute(
                    select(*self._relationship_columns).where(
                        relationships.c.type_name == type_name,
                        relationships.c.end1_guid == end1_guid,
                        relationships.c.end2_guid == end2_guid,
                    )
                ).first()
                checked = True
                if row is not None:
                    record = self._remember_relationship(RelationshipRecord.from_row(row))
        if record is None:
            if not checked and end1.db_version is not None and end2.db_version is not None:
                self._unchecked_rel_keys.add(key)  # an end is new: nobody else can have linked it yet
            return self._new_relationship(type_name, end1_guid, end2_guid, validated), ChangeKind.RELATIONSHIP_CREATED
        if record.collection != self.actor:
            raise NotOwner(
                f"{self.actor} may not update the {type_name} relationship {record.guid}: "
                f"it is owned by metadata collection {record.collection}"
            )
        if record.properties == validated:
            return record, ChangeKind.UNCHANGED
        self._change_relationship(record, validated)
        return record, ChangeKind.RELATIONSHIP_UPDATED

    def _change_relationship(self, record: RelationshipRecord, properties: dict[str, Any]) -> None:
        previous = record.snapshot()
        record.properties = properties
        record.version += 1
        record.update_time = self._observed_at
        if self.refresh_id is not None:
            record.last_refresh_id = self.refresh_id
        if record.db_version is not None:
            self._dirty_rels[record.guid] = record
        self._emit(ChangeKind.RELATIONSHIP_UPDATED, relationship=record.snapshot(), previous_relationship=previous)

    def _require_relationship(self, guid: str) -> RelationshipRecord:
        record = self._rel_by_guid.get(guid)
        if record is None:
            row = self._execute(select(*self._relationship_columns).where(relationships.c.guid == guid)).first()
            if row is None:
                raise ElementNotFound(f"no relationship with guid {guid}")
            record = self._remember_relationship(RelationshipRecord.from_row(row))
        return record

    def update_relationship(self, guid: str, properties: Mapping[str, Any], *, merge: bool = True) -> Relationship:
        self._check_open()
        record = self._require_relationship(guid)
        if record.collection != self.actor:
            raise NotOwner(
                f"{self.actor} may not update the {record.type_name} relationship {guid}: "
                f"it is owned by metadata collection {record.collection}"
            )
        end1 = self._require(record.end1_guid, include_archived=True)
        end2 = self._require(record.end2_guid, include_archived=True)
        validated = self._types.validate_relationship(record.type_name, end1.type_name, end2.type_name, properties)
        new = _without_none({**record.properties, **validated} if merge else validated)
        if new != record.properties:
            self._change_relationship(record, new)
        return record.model()

    def delete_relationship(self, guid: str) -> None:
        self._check_open()
        record = self._require_relationship(guid)
        if record.collection != self.actor:
            raise NotOwner(
                f"{self.actor} may not delete the {record.type_name} relationship {guid}: "
                f"it is owned by metadata collection {record.collection}"
            )
        self.flush()
        deleted = self._execute(
            delete(relationships)
            .where(relationships.c.guid == guid)
            .where(relationships.c.version == record.db_version)
        )
        if deleted.rowcount != 1:
            raise StaleVersion(f"relationship {guid} changed in another transaction; it was not deleted")
        self._forget_relationship(record)
        self._emit(ChangeKind.RELATIONSHIP_DELETED, previous_relationship=record.snapshot())

    # === retrieval ==========================================================================================
    def get_element(self, guid: str, *, include_archived: bool = False) -> Element:
        self._check_open()
        return self._require(guid, include_archived=include_archived).model()

    def find_element_by_name(self, qualified_name: str, *, include_archived: bool = False) -> Element | None:
        self._check_open()
        record = self._by_name.get(qualified_name)
        if record is None and qualified_name not in self._unchecked_names:
            row = self._execute(
                select(*self._element_columns).where(elements.c.qualified_name == qualified_name)
            ).first()
            record = self._remember(ElementRecord.from_row(row)) if row is not None else None
        if record is None or (record.status == ARCHIVED and not include_archived):
            return None
        return record.model()

    def find_elements(
        self,
        *,
        search_string: str | None = None,
        type_name: str | None = None,
        metadata_collection: str | None = None,
        zone: str | None = None,
        classification: str | None = None,
        include_subtypes: bool = True,
        include_archived: bool = False,
        page: Page | None = None,
    ) -> list[Element]:
        self._check_open()
        type_names: Iterable[str] | None = None
        if type_name is not None:
            type_names = (
                self._types.subtypes(type_name) if include_subtypes else {self._types.element_type(type_name).name}
            )
        self.flush()
        query = queries.find_elements(
            search_string=search_string,
            type_names=None if type_names is None else set(type_names),
            metadata_collection=metadata_collection,
            zone=zone,
            classification=classification,
            include_archived=include_archived,
            page=page,
            postgresql=self._postgresql,
            columns=self._element_columns,
        )
        return [self._remember(ElementRecord.from_row(row)).model() for row in self._execute(query)]

    def get_relationships(
        self, guid: str, *, type_name: str | None = None, page: Page | None = None
    ) -> list[Relationship]:
        self._check_open()
        self._require(guid)
        self.flush()
        rows = self._execute(
            queries.relationships_of(guid, type_name=type_name, page=page, columns=self._relationship_columns)
        )
        return [self._remember_relationship(RelationshipRecord.from_row(row)).model() for row in rows]

    def get_related_elements(
        self,
        guid: str,
        *,
        relationship_type: str | None = None,
        at_end: int | None = None,
        page: Page | None = None,
    ) -> list[Element]:
        self._check_open()
        if at_end not in (None, 1, 2):
            raise ValueError("at_end must be 1, 2 or None")
        self._require(guid)
        self.flush()
        query = queries.related_elements(
            guid, relationship_type=relationship_type, at_end=at_end, page=page, columns=self._element_columns
        )
        return [self._remember(ElementRecord.from_row(row)).model() for row in self._execute(query)]

    # === flush and commit ===================================================================================
    def flush(self) -> None:
        """Write what is queued (events excepted: they go at commit). Raises NotOwner for a deferred conflict."""
        if self._poisoned is not None:
            raise RepositoryError(f"this transaction failed earlier and will roll back: {self._poisoned}")
        try:
            self._flush_elements()
            self._flush_relationships()
        except BaseException as error:
            self._poisoned = error
            raise

    def _flush_elements(self) -> None:
        if self._unchecked_names:
            # One statement for all the names, however many (see queries.in_text_list).
            pg = self._postgresql
            taken = select(elements.c.qualified_name, elements.c.type_name, elements.c.metadata_collection).where(
                queries.in_text_list(elements.c.qualified_name, "names", postgresql=pg)
            )
            names = queries.text_list(sorted(self._unchecked_names), postgresql=pg)
            row = self._execute(taken.limit(1), {"names": names}).first()
            if row is not None:
                raise NotOwner(
                    f"{self.actor} may not update {row.type_name} {row.qualified_name!r}: "
                    f"it is owned by metadata collection {row.metadata_collection}"
                )
            self._unchecked_names.clear()
        if self._new:
            new = list(self._new.values())
            with self._connection() as connection:
                bulk.insert_rows(
                    connection, elements, ELEMENT_INSERT_COLUMNS, [r.insert_tuple(self._time) for r in new]
                )
            for record in new:
                record.db_version = record.version
            self._new.clear()
        if self._dirty:
            dirty = list(self._dirty.values())
            for chunk in _chunks(dirty, INSERT_CHUNK):
                rows = []
                for record in chunk:
                    row = record.row()
                    row["b_guid"] = row.pop("guid")
                    row["b_version"] = record.db_version
                    rows.append(row)
                result = self._execute(_ELEMENT_UPDATE, rows)
                self._check_rowcount(result, len(rows), "elements")
            for record in dirty:
                record.db_version = record.version
            self._dirty.clear()
        if self._observed_pending:
            values: dict[str, Any] = {"last_observed_time": self._observed_at}
            if self.refresh_id is not None:
                values["last_refresh_id"] = self.refresh_id
            # One set-based statement for every element observed unchanged (see queries.update_elements_in_text_list).
            pg = self._postgresql
            observed = queries.update_elements_in_text_list(elements.c.guid, "guids", postgresql=pg)
            guids = queries.text_list(sorted(self._observed_pending), postgresql=pg)
            self._execute(observed.values(**values), {"guids": guids})
            self._observed_pending.clear()

    def _check_rowcount(self, result: CursorResult[Any], expected: int, what: str) -> None:
        if self._conn.dialect.supports_sane_multi_rowcount and result.rowcount not in (-1, expected):
            raise StaleVersion(
                f"{expected - result.rowcount} of the {what} written changed in another transaction meanwhile;"
                " nothing was written"
            )

    def _flush_relationships(self) -> None:
        if self._unchecked_rel_keys:
            keys = sorted(self._unchecked_rel_keys)
            for chunk in _chunks(keys, IN_CHUNK):
                row = self._execute(
                    select(relationships.c.type_name, relationships.c.guid, relationships.c.metadata_collection).where(
                        tuple_(relationships.c.type_name, relationships.c.end1_guid, relationships.c.end2_guid).in_(
                            chunk
                        )
                    )
                ).first()
                if row is not None:
                    raise NotOwner(
                        f"{self.actor} may not update the {row.type_name} relationship {row.guid}: "
                        f"it is owned by metadata collection {row.metadata_collection}"
                    )
            self._unchecked_rel_keys.clear()
        if self._new_rels:
            new = list(self._new_rels.values())
            with self._connection() as connection:
                bulk.insert_rows(
                    connection, relationships, RELATIONSHIP_INSERT_COLUMNS, [r.insert_tuple(self._time) for r in new]
                )
            for record in new:
                record.db_version = record.version
            self._new_rels.clear()
        if self._dirty_rels:
            dirty = list(self._dirty_rels.values())
            updates = []
            for record in dirty:
                values = record.row()
                values["b_guid"] = values.pop("guid")
                values["b_version"] = record.db_version
                updates.append(values)
            result = self._execute(_RELATIONSHIP_UPDATE, updates)
            self._check_rowcount(result, len(updates), "relationships")
            for record in dirty:
                record.db_version = record.version
            self._dirty_rels.clear()

    def commit(self) -> int:
        """Write everything and COMMIT, as one use of the connection; returns the number of events written.
        Called by the repository when the `with` block ends normally."""
        with self._guard:
            wrote = self.commit_writes()
            with self._connection():
                self._begun.commit()
            return wrote

    def rollback(self) -> None:
        """Called by the repository when the `with` block raised (nothing to do once aborted: `close` discards
        the connection, which rolls back)."""
        with self._guard:
            if not self._aborted and not self._released:
                with database_errors():
                    self._begun.rollback()

    def commit_writes(self) -> int:
        """Flush, then insert the events (in order, under the events lock on PostgreSQL) and notify.

        Returns the number of events written. Called by `commit` just before COMMIT.
        """
        self._check_open()
        self.flush()
        if not self._events:
            return 0
        if self._postgresql:
            # Sequences are taken under this lock and it is held to commit, so events commit in sequence
            # order and a reader that has seen sequence N will never later find a committed N-1.
            self._execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": EVENTS_LOCK_KEY})
        now = self._time(datetime.now(UTC))
        rows = [self._event_row(event, now) for event in self._events]
        with self._connection() as connection:
            bulk.insert_rows(connection, events, EVENT_INSERT_COLUMNS, rows)
        if self._postgresql:
            self._execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})
        return len(rows)

    def close(self) -> None:
        """End the transaction's use of its connection (back to the pool; discarded if aborted)."""
        with self._guard:
            self._closed = True
            self._release(discard=self._aborted)

    def abort(self) -> None:
        self._aborted = True
        if not self._guard.acquire(blocking=False):
            engines.interrupt(self._driver_connection, timeout=ABORT_WAIT_SECONDS)
            if not self._guard.acquire(timeout=ABORT_WAIT_SECONDS):
                return  # the statement still runs; `_connection` releases the connection when it returns
        try:
            self._release(discard=True)
        finally:
            self._guard.release()

    def _release(self, *, discard: bool) -> None:
        """Give the connection back once: discarded (closed, which rolls back and frees its locks) or pooled."""
        if self._released:
            return
        self._released = True
        with contextlib.suppress(Exception):  # a broken connection may fail to close; it is gone either way
            if discard:
                self._conn.invalidate()
            self._conn.close()
