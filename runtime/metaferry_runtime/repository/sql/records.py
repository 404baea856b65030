"""The mutable records a transaction works on, and their conversions to rows, models and event payloads.

A transaction keeps one record per element or relationship it has touched; the write path mutates records
and queues them for a batched flush, and hands callers immutable pydantic models built with `construct`
(the record was validated when it was written, so validating again would only cost time).

Each record's dataclass fields are its one field list: the stored fields, in the order of their table's
columns, then the bookkeeping fields (`NOT_STORED`). Every positional order (the rows read, the tuples
inserted, the dicts updated, the event snapshots) is derived from that list as a `Layout`; only the model
and the event JSON are written by hand, because their shapes differ from the table's, and a property test
checks the JSON against the model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime
from operator import attrgetter
from typing import Any

from metaferry_runtime.repository.model import (
    Classification,
    Curation,
    Element,
    InstanceStatus,
    Provenance,
    Relationship,
)
from metaferry_runtime.repository.sql.codec import (
    column_json,
    construct,
    dumps,
    json_string,
    json_value,
    optional_json_string,
    parse_time,
    time_value,
)

SEARCH_SEPARATOR = "\x1f"
SEARCHED_PROPERTIES = ("name", "displayName", "description")

ACTIVE = InstanceStatus.ACTIVE.value
ARCHIVED = InstanceStatus.ARCHIVED.value
# A dictionary look-up instead of the Enum call (which costs as much as the rest of building a model).
_STATUS = {status.value: status for status in InstanceStatus}

# How a stored field's value is converted between the record and the row (see Layout).
PLAIN, JSON, TIME, OWN = "plain", "json", "time", "own"  # OWN: the record converts it itself
NOT_STORED: dict[str, Any] = {"stored": False}


def column(
    name: str | None = None, kind: str = PLAIN, *, event: bool = True, read: str | None = None
) -> dict[str, Any]:
    """A stored field's metadata: its column (default: the field's name), how it converts, whether an
    event shows it, and the attribute its value is read from (default: the field itself). A field without
    metadata is a plain column of its name."""
    return {"column": name, "kind": kind, "event": event, "read": read}


@dataclass(frozen=True)
class Layout:
    """Where each stored field of a record type stands in its table's rows, derived from its fields."""

    columns: tuple[str, ...]  # the table's columns, in the order rows are read and written
    values: Callable[[Any], tuple[Any, ...]]  # a record's stored values in that order
    state: Callable[[Any], tuple[Any, ...]]  # the snapshot an event shows (see element_json)
    json_at: tuple[int, ...]
    time_at: tuple[int, ...]
    version_at: int

    @classmethod
    def of(cls, record_type: type) -> Layout:
        columns: list[str] = []
        reads: list[str] = []
        events: list[str] = []
        json_at: list[int] = []
        time_at: list[int] = []
        every = fields(record_type)
        stored_fields = [f for f in every if f.metadata.get("stored", True)]
        if every[: len(stored_fields)] != tuple(stored_fields):  # from_row passes them first, by position
            raise TypeError(f"{record_type.__name__}: the stored fields must come before the others")
        for position, item in enumerate(stored_fields):
            meta = item.metadata
            columns.append(meta.get("column") or item.name)
            reads.append(meta.get("read") or item.name)
            if meta.get("event", True):
                events.append(reads[-1])
            kind = meta.get("kind", PLAIN)
            if kind == JSON:
                json_at.append(position)
            elif kind == TIME:
                time_at.append(position)
        return cls(
            columns=tuple(columns),
            values=attrgetter(*reads),
            state=attrgetter(*events),
            json_at=tuple(json_at),
            time_at=tuple(time_at),
            version_at=columns.index("version"),
        )

    def decoded(self, row: Any) -> list[Any]:
        """A row as read (schema.element_columns, relationship_columns) with its JSON and time columns decoded."""
        values = list(row)
        for position in self.json_at:
            values[position] = json_value(values[position])
        for position in self.time_at:
            values[position] = time_value(values[position])
        return values

    def encoded(self, record: Any, time: Callable[[datetime | None], Any]) -> list[Any]:
        """A record's stored values for `bulk.insert_rows`: JSON as text, times as `time` writes them."""
        values = list(self.values(record))
        for position in self.json_at:
            values[position] = column_json(values[position])
        for position in self.time_at:
            values[position] = time(values[position])
        return values

    def row(self, record: Any) -> dict[str, Any]:
        """A record's stored values by column, for an UPDATE (SQLAlchemy serialises them)."""
        return dict(zip(self.columns, self.values(record), strict=True))


@dataclass(slots=True, eq=False)
class ElementRecord:
    guid: str
    type_name: str
    qualified_name: str
    # None while the properties are only the JSON text read from SQLite (`json_text`): see `properties`.
    loaded_properties: dict[str, Any] | None = field(metadata=column("properties", OWN, read="properties"))
    curated: dict[str, Any] = field(metadata=column("curated_properties", JSON))
    classifications: dict[str, dict[str, Any]] = field(metadata=column(kind=JSON))
    zones: list[str] = field(metadata=column(kind=JSON))
    collection: str = field(metadata=column("metadata_collection"))
    status: str
    version: int
    create_time: datetime = field(metadata=column(kind=TIME))
    update_time: datetime = field(metadata=column(kind=TIME))
    created_by_refresh: str | None
    last_refresh_id: str | None
    last_observed_time: datetime | None = field(metadata=column(kind=TIME))
    # property name -> {"curator": ..., "time": ISO text}, as stored: see Element.curations
    curations: dict[str, dict[str, str]] = field(metadata=column(kind=JSON))
    db_version: int | None = field(default=None, metadata=NOT_STORED)  # None while not yet inserted
    json_text: str = field(default="", metadata=NOT_STORED)  # the properties as JSON text (see below)
    json_source: dict[str, Any] | None = field(default=None, metadata=NOT_STORED)  # what `json_text` encodes

    @property
    def properties(self) -> dict[str, Any]:
        """The harvested properties, decoded from the stored JSON text on first use. Why lazily: a refresh
        loads every element its collection owns, and when nothing changed the text is all it compares
        (`stored_properties_text`), and decoding each one was a tenth of a no-change refresh."""
        properties = self.loaded_properties
        if properties is None:
            properties = self.loaded_properties = self.json_source = json_value(self.json_text)
        return properties

    @properties.setter
    def properties(self, value: dict[str, Any]) -> None:
        self.loaded_properties = value

    @property
    def key(self) -> str:
        """What an upsert finds it by."""
        return self.qualified_name

    @staticmethod
    def named(type_name: str, qualified_name: str) -> str:
        """How a message names an element (also one read as a bare row)."""
        return f"{type_name} {qualified_name!r}"

    def subject(self) -> str:
        return self.named(self.type_name, self.qualified_name)

    def stored_properties_text(self) -> str | None:
        """The properties' JSON text as read from SQLite while they are not decoded yet, else None."""
        return self.json_text if self.loaded_properties is None else None

    def properties_json(self) -> str:
        """The properties as JSON text, kept while they stay the same dict (records replace, never mutate,
        them). Why: a new element's insert and its CREATED event both need this text."""
        if self.json_source is not self.properties:
            self.json_text = column_json(self.properties)
            self.json_source = self.properties
        return self.json_text

    def properties_json_of(self, state: tuple[Any, ...]) -> str | None:
        """The kept JSON text when `state` (a snapshot) has the properties it encodes, else None."""
        return self.json_text if self.json_source is state[_PROPERTIES_AT] else None

    @classmethod
    def from_row(cls, row: Any) -> ElementRecord:
        """From a row of ELEMENT.columns (by position: attribute access costs more)."""
        values = ELEMENT.decoded(row)
        values.append(values[ELEMENT.version_at])  # db_version: as read
        properties = values[_PROPERTIES_AT]
        if isinstance(properties, str):  # JSON text from SQLite: decoded on first use
            values[_PROPERTIES_AT] = None
            values.append(properties)  # json_text
        return cls(*values)

    def search_text(self) -> str:
        parts = [self.qualified_name]
        sources = (self.properties, self.curated) if self.curated else (self.properties,)  # curated: mostly empty
        for name in SEARCHED_PROPERTIES:
            for source in sources:
                value = source.get(name)
                if isinstance(value, str):
                    parts.append(value)
        return SEARCH_SEPARATOR.join(parts).lower()

    def row(self) -> dict[str, Any]:
        row = ELEMENT.row(self)
        row["search_text"] = self.search_text()
        return row

    def insert_tuple(self, time: Callable[[datetime | None], Any]) -> tuple[Any, ...]:
        """Values in ELEMENT_INSERT_COLUMNS order, JSON serialised, times by `time` (bulk.time_writer)."""
        values = ELEMENT.encoded(self, time)
        values[_PROPERTIES_AT] = self.properties_json()
        values.append(self.search_text())
        return tuple(values)

    def model(self) -> Element:
        return construct(
            Element,
            {
                "guid": self.guid,
                "type_name": self.type_name,
                "qualified_name": self.qualified_name,
                "properties": dict(self.properties),
                "curated_properties": dict(self.curated),
                "curations": _curations(self.curations),
                "classifications": [
                    construct(Classification, {"name": name, "properties": dict(props)})
                    for name, props in self.classifications.items()
                ],
                "zone_membership": list(self.zones),
                "metadata_collection": self.collection,
                "status": _STATUS[self.status],
                "version": self.version,
                "create_time": self.create_time,
                "update_time": self.update_time,
                "provenance": construct(
                    Provenance,
                    {
                        "created_by_refresh": self.created_by_refresh,
                        "last_refresh_id": self.last_refresh_id,
                        "last_observed_time": self.last_observed_time,
                    },
                ),
            },
        )

    def snapshot(self) -> tuple[Any, ...]:
        """The state an event shows (see `element_json`).

        Why snapshots: a refresh emits an event per change and keeps them to commit; a tuple per event
        instead of five dicts and lists makes the garbage collector's scans of the live heap much cheaper.
        The containers in a snapshot are never mutated (records replace them), so it stays as it was.
        """
        return ELEMENT.state(self)


ELEMENT = Layout.of(ElementRecord)
ELEMENT_INSERT_COLUMNS = (*ELEMENT.columns, "search_text")
_PROPERTIES_AT = ELEMENT.columns.index("properties")


def _curations(stored: dict[str, dict[str, str]]) -> dict[str, Curation]:
    """The stored curation records as models (their times are ISO text in the JSON column)."""
    return {
        name: construct(Curation, {"curator": curation["curator"], "time": parse_time(curation["time"])})
        for name, curation in stored.items()
    }


def element_json(state: tuple[Any, ...], iso: Callable[[datetime], str], properties_text: str | None = None) -> str:
    """The element's JSON in an out-topic event: what its model dumps, written directly from a snapshot.

    Why: a refresh writes an event per change, and building each payload's dicts only to encode them cost
    more than the database's insert of the event; here only non-empty maps go through the encoder, and not
    the properties when the caller has their text already (`properties_text`). The unpacking follows
    ELEMENT.state; tests/repository/test_event_json.py checks the text against the model.
    """
    (
        guid, type_name, qualified_name, properties, curated, classifications, zones, collection, status,
        version, create_time, update_time, created_by_refresh, last_refresh_id, last_observed_time, curations,
    ) = state  # fmt: skip
    listed = dumps([{"name": n, "properties": p} for n, p in classifications.items()]) if classifications else "[]"
    observed = "null" if last_observed_time is None else json_string(iso(last_observed_time))
    if properties_text is None:
        properties_text = column_json(properties)
    return (
        f'{{"guid":{json_string(guid)},"type_name":{json_string(type_name)},'
        f'"qualified_name":{json_string(qualified_name)},'
        f'"properties":{properties_text},"curated_properties":{dumps(curated) if curated else "{}"},'
        f'"curations":{dumps(curations) if curations else "{}"},'
        f'"classifications":{listed},"zone_membership":{dumps(zones) if zones else "[]"},'
        f'"metadata_collection":{json_string(collection)},"status":{json_string(status)},"version":{int(version)!r},'
        f'"create_time":{json_string(iso(create_time))},"update_time":{json_string(iso(update_time))},'
        f'"provenance":{{"created_by_refresh":{optional_json_string(created_by_refresh)},'
        f'"last_refresh_id":{optional_json_string(last_refresh_id)},"last_observed_time":{observed}}}}}'
    )


@dataclass(slots=True, eq=False)
class RelationshipRecord:
    guid: str
    type_name: str
    end1_guid: str
    end2_guid: str
    properties: dict[str, Any] = field(metadata=column(kind=JSON))
    collection: str = field(metadata=column("metadata_collection"))
    status: str
    version: int
    create_time: datetime = field(metadata=column(kind=TIME))
    update_time: datetime = field(metadata=column(kind=TIME))
    created_by_refresh: str | None = field(metadata=column(event=False))
    last_refresh_id: str | None = field(metadata=column(event=False))
    db_version: int | None = field(default=None, metadata=NOT_STORED)  # None while not yet inserted

    @property
    def key(self) -> tuple[str, str, str]:
        """What an upsert finds it by."""
        return (self.type_name, self.end1_guid, self.end2_guid)

    @staticmethod
    def named(type_name: str, guid: str) -> str:
        """How a message names a relationship (also one read as a bare row)."""
        return f"the {type_name} relationship {guid}"

    def subject(self) -> str:
        return self.named(self.type_name, self.guid)

    @classmethod
    def from_row(cls, row: Any) -> RelationshipRecord:
        """From a row of RELATIONSHIP.columns, by position."""
        values = RELATIONSHIP.decoded(row)
        values.append(values[RELATIONSHIP.version_at])  # db_version: as read
        return cls(*values)

    def row(self) -> dict[str, Any]:
        return RELATIONSHIP.row(self)

    def insert_tuple(self, time: Callable[[datetime | None], Any]) -> tuple[Any, ...]:
        """Values in RELATIONSHIP_INSERT_COLUMNS order, JSON serialised, times by `time` (bulk.time_writer)."""
        return tuple(RELATIONSHIP.encoded(self, time))

    def model(self) -> Relationship:
        return construct(
            Relationship,
            {
                "guid": self.guid,
                "type_name": self.type_name,
                "end1_guid": self.end1_guid,
                "end2_guid": self.end2_guid,
                "properties": dict(self.properties),
                "metadata_collection": self.collection,
                "status": _STATUS[self.status],
                "version": self.version,
                "create_time": self.create_time,
                "update_time": self.update_time,
            },
        )

    def snapshot(self) -> tuple[Any, ...]:
        return RELATIONSHIP.state(self)


RELATIONSHIP = Layout.of(RelationshipRecord)
RELATIONSHIP_INSERT_COLUMNS = RELATIONSHIP.columns


def relationship_json(state: tuple[Any, ...], iso: Callable[[datetime], str]) -> str:
    """The relationship's JSON in an out-topic event, written directly (see `element_json`)."""
    guid, type_name, end1_guid, end2_guid, properties, collection, status, version, create_time, update_time = state
    return (
        f'{{"guid":{json_string(guid)},"type_name":{json_string(type_name)},"end1_guid":{json_string(end1_guid)},'
        f'"end2_guid":{json_string(end2_guid)},"properties":{column_json(properties)},'
        f'"metadata_collection":{json_string(collection)},"status":{json_string(status)},"version":{int(version)!r},'
        f'"create_time":{json_string(iso(create_time))},"update_time":{json_string(iso(update_time))}}}'
    )
