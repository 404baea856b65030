"""The write-behind record cache: one per record kind (elements, relationships) in a transaction.

Why a cache: a refresh upserts thousands of elements in one transaction, and one statement per element
would make it round-trip bound. So the transaction keeps a record per element and relationship it has
touched, found by GUID and by key (an element's qualified name; a relationship's type and ends). Writes
mutate records and queue them here (`new`, `dirty`), and `flush()` writes the queue in chunks: executemany
or COPY inserts, then version-checked updates.

A record created under a key that was never looked up (the actor's records were all loaded, and it was not
among them) may still be another collection's: its key waits in `unchecked`, and the flush checks them all
in bulk before writing anything, raising NotOwner.

The cache knows rows and records, not the repository's rules: what may be written, and the events, are the
transaction's (see base.py).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import Table, bindparam, select, tuple_, update
from sqlalchemy.sql import ColumnElement, Executable
from sqlalchemy.sql.dml import Update

from metaferry_runtime.repository.sql import bulk, queries
from metaferry_runtime.repository.sql.records import (
    ELEMENT_INSERT_COLUMNS,
    RELATIONSHIP_INSERT_COLUMNS,
    ElementRecord,
    RelationshipRecord,
)
from metaferry_runtime.repository.sql.schema import element_columns, elements, relationship_columns, relationships
from metaferry_runtime.repository.sql.transaction import rules
from metaferry_runtime.repository.sql.transaction.connection import GuardedConnection

INSERT_CHUNK = 2_000
IN_CHUNK = 500


class StoredRecord(Protocol):
    guid: str
    version: int
    db_version: int | None
    collection: str

    @property
    def key(self) -> Any: ...

    def row(self) -> dict[str, Any]: ...

    def insert_tuple(self, time: Callable[[datetime | None], Any]) -> tuple[Any, ...]: ...


R = TypeVar("R", bound=StoredRecord)
K = TypeVar("K", bound=Hashable)


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _versioned_update(table: Table) -> Update:
    """UPDATE by GUID, only where the stored version is the one read (bound as b_guid and b_version)."""
    return update(table).where(table.c.guid == bindparam("b_guid")).where(table.c.version == bindparam("b_version"))


@dataclass(frozen=True)
class RecordKind(Generic[R]):
    """What the cache needs to know of one kind of record and its table."""

    plural: str  # for messages
    table: Table
    insert_columns: tuple[str, ...]
    from_row: Callable[[Any], R]
    read_columns: Callable[[bool], list[ColumnElement[Any]]]
    # Statements (with parameters) that find a row (type_name, name, metadata_collection) holding any of
    # these keys, the name as `named` takes it.
    taken: Callable[[Sequence[Any], bool], Iterator[tuple[Executable, Any]]]
    named: Callable[[str, str], str]
    # Elements: a qualified name is unique, so the record last read under it is the one. Relationships:
    # create_relationship may link the same ends twice, and an upsert keeps finding the first one.
    first_per_key: bool
    versioned_update: Update


def _taken_names(names: Sequence[str], postgresql: bool) -> Iterator[tuple[Executable, Any]]:
    # One statement for all the names, however many (see queries.in_text_list).
    columns = elements.c
    taken = select(columns.type_name, columns.qualified_name, columns.metadata_collection).where(
        queries.in_text_list(columns.qualified_name, "names", postgresql=postgresql)
    )
    yield taken.limit(1), {"names": queries.text_list(names, postgresql=postgresql)}


def _taken_links(keys: Sequence[tuple[str, str, str]], postgresql: bool) -> Iterator[tuple[Executable, Any]]:
    columns = relationships.c
    for chunk in chunks(keys, IN_CHUNK):
        yield (
            select(columns.type_name, columns.guid, columns.metadata_collection).where(
                tuple_(columns.type_name, columns.end1_guid, columns.end2_guid).in_(chunk)
            ),
            None,
        )


ELEMENTS: RecordKind[ElementRecord] = RecordKind(
    plural="elements",
    table=elements,
    insert_columns=ELEMENT_INSERT_COLUMNS,
    from_row=ElementRecord.from_row,
    read_columns=element_columns,
    taken=_taken_names,
    named=ElementRecord.named,
    first_per_key=False,
    versioned_update=_versioned_update(elements),
)
RELATIONSHIPS: RecordKind[RelationshipRecord] = RecordKind(
    plural="relationships",
    table=relationships,
    insert_columns=RELATIONSHIP_INSERT_COLUMNS,
    from_row=RelationshipRecord.from_row,
    read_columns=relationship_columns,
    taken=_taken_links,
    named=RelationshipRecord.named,
    first_per_key=True,
    versioned_update=_versioned_update(relationships),
)


class RecordCache(Generic[R, K]):
    """The records of one kind a transaction has read or written, and what of them is still to write."""

    def __init__(self, kind: RecordKind[R], db: GuardedConnection) -> None:
        self.kind = kind
        self._db = db
        self._time = bulk.time_writer(db.raw)
        self.columns = kind.read_columns(db.postgresql)  # what `select()` reads, in the record's field order
        self.by_guid: dict[str, R] = {}
        self.by_key: dict[K, R] = {}
        self.new: dict[str, R] = {}  # created, not yet inserted
        self.dirty: dict[str, R] = {}  # stored, changed since
        self.unchecked: set[K] = set()  # keys of new records that another collection may hold
        self.loaded = False  # every record the actor owns is cached
        self.lookups = 0  # keys looked up one by one so far (see base.PRELOAD_AFTER_LOOKUPS)

    # --- reading ----------------------------------------------------------------------------------------
    def remember(self, record: R) -> R:
        """Cache a record read from the database unless this transaction already has (a newer) one."""
        known = self.by_guid.get(record.guid)
        if known is not None:
            return known
        self.by_guid[record.guid] = record
        if self.kind.first_per_key:
            self.by_key.setdefault(record.key, record)
        else:
            self.by_key[record.key] = record
        return record

    def select(self) -> Any:
        """SELECT of the record's columns, to which the caller adds its WHERE."""
        return select(*self.columns)

    def read(self, query: Any) -> list[R]:
        """The records of a query's rows (cached ones win); one fetchall, not row by row."""
        remember, from_row = self.remember, self.kind.from_row
        return [remember(from_row(row)) for row in self._db.execute(query).all()]

    def read_first(self, query: Any) -> R | None:
        row = self._db.execute(query).first()
        return None if row is None else self.remember(self.kind.from_row(row))

    def get(self, guid: str) -> R | None:
        """The record with this GUID, read if it is not cached; None if there is none."""
        record = self.by_guid.get(guid)
        if record is None:
            record = self.read_first(self.select().where(self.kind.table.c.guid == guid))
        return record

    def get_many(self, guids: Sequence[str]) -> list[R]:
        """The records with these GUIDs that exist, in that order; those not cached are read in chunks."""
        missing = [guid for guid in guids if guid not in self.by_guid]
        column = self.kind.table.c.guid
        for chunk in chunks(missing, IN_CHUNK):
            self.read(self.select().where(column.in_(chunk)))
        return [self.by_guid[guid] for guid in guids if guid in self.by_guid]

    def load_owned(self, actor: str) -> None:
        """Cache every record the actor owns (active and archived): lookups then need no queries. The
        caller flushes first, so nothing cached is older than the database."""
        self.read(self.select().where(self.kind.table.c.metadata_collection == actor))
        self.loaded = True

    # --- writing ----------------------------------------------------------------------------------------
    def add(self, record: R) -> None:
        """A record created in this transaction: inserted at the next flush."""
        self.remember(record)
        self.new[record.guid] = record

    def changed(self, record: R) -> None:
        """A stored record changed: updated at the next flush (a new one is still inserted whole)."""
        if record.db_version is not None:
            self.dirty[record.guid] = record

    def forget(self, record: R) -> None:
        """A record deleted in this transaction."""
        self.by_guid.pop(record.guid, None)
        if self.by_key.get(record.key) is record:
            del self.by_key[record.key]
        self.new.pop(record.guid, None)
        self.dirty.pop(record.guid, None)

    def flush(self, actor: str) -> None:
        """Write what is queued: NotOwner (before anything is written) if another collection holds a key."""
        if self.unchecked:
            self._check_unchecked(actor)
        if self.new:
            self._insert_new()
        if self.dirty:
            self._update_dirty()

    def _check_unchecked(self, actor: str) -> None:
        for statement, parameters in self.kind.taken(sorted(self.unchecked), self._db.postgresql):
            row = self._db.execute(statement, parameters).first()
            if row is not None:
                type_name, name, collection = tuple(row)
                raise rules.not_owner(actor, "update", self.kind.named(type_name, name), collection)
        self.unchecked.clear()

    def _insert_new(self) -> None:
        new = list(self.new.values())
        time = self._time
        with self._db.use() as connection:
            bulk.insert_rows(connection, self.kind.table, self.kind.insert_columns, [r.insert_tuple(time) for r in new])
        for record in new:
            record.db_version = record.version
        self.new.clear()

    def _update_dirty(self) -> None:
        dirty = list(self.dirty.values())
        for chunk in chunks(dirty, INSERT_CHUNK):
            rows = []
            for record in chunk:
                row = record.row()
                row["b_guid"] = row.pop("guid")
                row["b_version"] = record.db_version
                rows.append(row)
            result = self._db.execute(self.kind.versioned_update, rows)
            self._db.check_rowcount(result, len(rows), self.kind.plural)
        for record in dirty:
            record.db_version = record.version
        self.dirty.clear()


class ElementCache(RecordCache[ElementRecord, str]):
    """Elements also record what was observed: deletion detection archives what a refresh did not see, and
    the flush writes the observation time of every element observed unchanged in one set-based statement."""

    def __init__(self, db: GuardedConnection, *, observed_values: dict[str, Any]) -> None:
        super().__init__(ELEMENTS, db)
        self._observed_values = observed_values  # last_observed_time (and last_refresh_id) to write
        self.observed: set[str] = set()  # GUIDs observed in this transaction
        self.observed_pending: set[str] = set()  # stored, observed, and otherwise unchanged: only that to write

    def observed_record(self, record: ElementRecord) -> None:
        self.observed.add(record.guid)
        if record.db_version is not None and record.guid not in self.dirty:
            self.observed_pending.add(record.guid)

    def observed_stored(self, guid: str) -> None:
        """An element observed by GUID that is stored and not (yet) cached."""
        self.observed.add(guid)
        self.observed_pending.add(guid)

    def changed(self, record: ElementRecord) -> None:
        if record.db_version is not None:
            self.dirty[record.guid] = record
            self.observed_pending.discard(record.guid)  # the update writes the observation too

    def forget(self, record: ElementRecord) -> None:
        super().forget(record)
        self.observed.discard(record.guid)
        self.observed_pending.discard(record.guid)

    def flush(self, actor: str) -> None:
        super().flush(actor)
        if self.observed_pending:
            # One set-based statement for every element observed unchanged (see queries.update_elements_in_text_list).
            pg = self._db.postgresql
            observed = queries.update_elements_in_text_list(elements.c.guid, "guids", postgresql=pg)
            guids = queries.text_list(sorted(self.observed_pending), postgresql=pg)
            self._db.execute(observed.values(**self._observed_values), {"guids": guids})
            self.observed_pending.clear()
