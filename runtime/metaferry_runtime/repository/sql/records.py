"""The mutable records a transaction works on, and their conversions to rows, models and event payloads.

A transaction keeps one record per element it has touched; the write path mutates records and queues them
for a batched flush, and hands callers immutable pydantic models built with `model_construct` (the record
was validated when it was written, so validating again would only cost time).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from operator import attrgetter
from typing import Any, TypeVar

from pydantic import BaseModel

from metaferry_runtime.repository.model import (
    Classification,
    Curation,
    Element,
    InstanceStatus,
    Provenance,
    Relationship,
)

SEARCH_SEPARATOR = "\x1f"
SEARCHED_PROPERTIES = ("name", "displayName", "description")

ACTIVE = InstanceStatus.ACTIVE.value
ARCHIVED = InstanceStatus.ARCHIVED.value
# A dictionary look-up instead of the Enum call (which costs as much as the rest of building a model).
_STATUS = {status.value: status for status in InstanceStatus}

_GUID_BATCH = 1024
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}
_guids: list[str] = []


def new_guid() -> str:
    """A random (version 4) UUID as text, like `str(uuid.uuid4())`.

    Why not uuid.uuid4(): a first refresh makes a GUID per element and relationship, and building a UUID
    object per GUID costs several times the formatting. Random bytes are drawn in batches and formatted
    directly, with the version and variant bits set as RFC 9562 requires.
    """
    while True:
        try:
            return _guids.pop()  # atomic: threads may share the batch
        except IndexError:
            data = os.urandom(16 * _GUID_BATCH).hex()
            _guids.extend(
                f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"
                for h in (data[i : i + 32] for i in range(0, len(data), 32))
            )


os.register_at_fork(after_in_child=_guids.clear)  # a forked child must not hand out its parent's GUIDs


_M = TypeVar("_M", bound=BaseModel)


def construct(cls: type[_M], values: dict[str, Any]) -> _M:
    """A model from values known to be valid: what `model_construct` does, without its per-field work
    (which costs more than the rest of an unchanged upsert). `values` must give every field."""
    instance = cls.__new__(cls)
    object.__setattr__(instance, "__dict__", values)
    object.__setattr__(instance, "__pydantic_fields_set__", set(values))
    object.__setattr__(instance, "__pydantic_extra__", None)
    object.__setattr__(instance, "__pydantic_private__", None)
    return instance


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
dumps = _ENCODER.encode
_EMPTY_TEXT = {dict: "{}", list: "[]"}


def column_json(value: dict[str, Any] | list[Any]) -> str:
    """`dumps` for a JSON column. Why: most curated properties, classifications, zones and link properties
    are empty, and the encoder's fixed cost per call is most of a refresh's JSON time."""
    return (not value and _EMPTY_TEXT.get(type(value))) or dumps(value)


_SCALARS = frozenset({str, int, float, bool})
_scalars_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode


def scalar_properties_json(properties: Mapping[str, Any]) -> str | None:
    """`dumps(properties)` when every name is a str and every value a str, int, float (not NaN or infinite)
    or bool, exactly those types; else None. Such JSON texts are equal only when the two dicts have the same
    names in the same order, each with an equal value of the same type, so comparing one with stored text
    tells whether the properties are the stored ones without decoding that text."""
    if type(properties) is not dict:
        return None
    for name, value in properties.items():
        if type(name) is not str or type(value) not in _SCALARS:
            return None
    try:
        return _scalars_dumps(properties)
    except ValueError:  # NaN or infinity: equal texts would not mean equal values
        return None


_text = json.encoder.encode_basestring  # what `dumps` uses for a string (ensure_ascii=False)


def _optional_text(value: str | None) -> str:
    return "null" if value is None else _text(value)


ELEMENT_INSERT_COLUMNS = (
    "guid", "type_name", "qualified_name", "properties", "curated_properties", "classifications", "zones",
    "metadata_collection", "status", "version", "create_time", "update_time", "created_by_refresh",
    "last_refresh_id", "last_observed_time", "search_text", "curations",
)  # fmt: skip
RELATIONSHIP_INSERT_COLUMNS = (
    "guid", "type_name", "end1_guid", "end2_guid", "properties", "metadata_collection", "status", "version",
    "create_time", "update_time", "created_by_refresh", "last_refresh_id",
)  # fmt: skip


_EMPTY_JSON: dict[str, Any] = {"{}": {}, "[]": []}


def json_value(value: Any) -> Any:
    """A JSON column as read: text on SQLite (decoded here), already decoded by psycopg on PostgreSQL."""
    if isinstance(value, str):
        empty = _EMPTY_JSON.get(value)
        if empty is not None:
            return type(empty)()
        return json.loads(value)
    return value


@lru_cache(maxsize=4096)
def _parse_time(text: str) -> datetime:
    # Cached: a transaction stamps everything it writes with one time, so a refresh's rows share few values.
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def time_value(value: Any) -> datetime | None:
    """A time column as read: ISO text on SQLite, a datetime on PostgreSQL; always UTC-aware."""
    if isinstance(value, str):
        return _parse_time(value)
    return aware(value)


def aware(value: datetime | None) -> datetime | None:
    """As UTC: SQLite returns naive datetimes, PostgreSQL ones in the session time zone."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value if value.tzinfo is UTC else value.astimezone(UTC)


class ElementRecord:
    __slots__ = (
        "classifications",
        "collection",
        "create_time",
        "created_by_refresh",
        "curated",
        "curations",
        "db_version",
        "guid",
        "json_source",
        "json_text",
        "last_observed_time",
        "last_refresh_id",
        "loaded_properties",
        "qualified_name",
        "status",
        "type_name",
        "update_time",
        "version",
        "zones",
    )

    def __init__(
        self,
        *,
        guid: str,
        type_name: str,
        qualified_name: str,
        properties: dict[str, Any] | str,
        curated: dict[str, Any],
        classifications: dict[str, dict[str, Any]],
        zones: list[str],
        collection: str,
        status: str,
        version: int,
        create_time: datetime,
        update_time: datetime,
        created_by_refresh: str | None,
        last_refresh_id: str | None,
        last_observed_time: datetime | None,
        db_version: int | None,
        curations: dict[str, dict[str, str]] | None = None,
    ) -> None:
        self.guid = guid
        self.type_name = type_name
        self.qualified_name = qualified_name
        self.curated = curated
        # property name -> {"curator": ..., "time": ISO text}, as stored: see Element.curations
        self.curations: dict[str, dict[str, str]] = {} if curations is None else curations
        self.classifications = classifications
        self.zones = zones
        self.collection = collection
        self.status = status
        self.version = version
        self.create_time = create_time
        self.update_time = update_time
        self.created_by_refresh = created_by_refresh
        self.last_refresh_id = last_refresh_id
        self.last_observed_time = last_observed_time
        self.db_version = db_version  # the version stored in the database; None while not yet inserted
        self.json_source: dict[str, Any] | None = None  # the properties `json_text` encodes
        self.json_text = ""
        # None while the properties are only the JSON text read from SQLite (`json_text`): see `properties`.
        self.loaded_properties: dict[str, Any] | None
        if isinstance(properties, str):
            self.loaded_properties = None
            self.json_text = properties
        else:
            self.loaded_properties = properties

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
        return self.json_text if self.json_source is state[3] else None

    @classmethod
    def from_row(cls, row: Any) -> ElementRecord:
        """From a row of schema.element_columns (unpacked by position: attribute access costs more)."""
        (
            guid,
            type_name,
            qualified_name,
            properties,
            curated,
            classifications,
            zones,
            collection,
            status,
            version,
            create_time,
            update_time,
            created_by_refresh,
            last_refresh_id,
            last_observed_time,
            curations,
        ) = row
        return cls(
            guid=guid,
            type_name=type_name,
            qualified_name=qualified_name,
            properties=properties,  # JSON text from SQLite: decoded on first use
            curated=json_value(curated),
            classifications=json_value(classifications),
            zones=json_value(zones),
            collection=collection,
            status=status,
            version=version,
            create_time=time_value(create_time),  # type: ignore[arg-type]
            update_time=time_value(update_time),  # type: ignore[arg-type]
            created_by_refresh=created_by_refresh,
            last_refresh_id=last_refresh_id,
            last_observed_time=time_value(last_observed_time),
            db_version=version,
            curations=json_value(curations),
        )

    def copy(self) -> ElementRecord:
        return ElementRecord(
            guid=self.guid,
            type_name=self.type_name,
            qualified_name=self.qualified_name,
            properties=dict(self.properties),
            curated=dict(self.curated),
            classifications={k: dict(v) for k, v in self.classifications.items()},
            zones=list(self.zones),
            collection=self.collection,
            status=self.status,
            version=self.version,
            create_time=self.create_time,
            update_time=self.update_time,
            created_by_refresh=self.created_by_refresh,
            last_refresh_id=self.last_refresh_id,
            last_observed_time=self.last_observed_time,
            db_version=self.db_version,
            curations={name: dict(curation) for name, curation in self.curations.items()},
        )

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
        return {
            "guid": self.guid,
            "type_name": self.type_name,
            "qualified_name": self.qualified_name,
            "properties": self.properties,
            "curated_properties": self.curated,
            "classifications": self.classifications,
            "zones": self.zones,
            "metadata_collection": self.collection,
            "status": self.status,
            "version": self.version,
            "create_time": self.create_time,
            "update_time": self.update_time,
            "created_by_refresh": self.created_by_refresh,
            "last_refresh_id": self.last_refresh_id,
            "last_observed_time": self.last_observed_time,
            "search_text": self.search_text(),
            "curations": self.curations,
        }

    def insert_tuple(self, time: Callable[[datetime | None], Any]) -> tuple[Any, ...]:
        """Values in ELEMENT_INSERT_COLUMNS order, JSON serialised, times by `time` (bulk.time_writer)."""
        return (
            self.guid, self.type_name, self.qualified_name, self.properties_json(), column_json(self.curated),
            column_json(self.classifications), column_json(self.zones), self.collection, self.status, self.version,
            time(self.create_time), time(self.update_time), self.created_by_refresh, self.last_refresh_id,
            time(self.last_observed_time), self.search_text(), column_json(self.curations),
        )  # fmt: skip

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
        """The state an event shows (see `element_payload`): one tuple, not a tree of dicts kept to commit."""
        return _element_state(self)

    def payload(self) -> dict[str, Any]:
        """The element as it appears in an out-topic event (JSON-ready)."""
        return element_payload(self.snapshot())


ELEMENT_STATE_FIELDS = (
    "guid", "type_name", "qualified_name", "properties", "curated", "classifications", "zones", "collection",
    "status", "version", "create_time", "update_time", "created_by_refresh", "last_refresh_id",
    "last_observed_time", "curations",
)  # fmt: skip
_element_state = attrgetter(*ELEMENT_STATE_FIELDS)


def _curations(stored: dict[str, dict[str, str]]) -> dict[str, Curation]:
    """The stored curation records as models (their times are ISO text in the JSON column)."""
    return {
        name: construct(Curation, {"curator": curation["curator"], "time": _parse_time(curation["time"])})
        for name, curation in stored.items()
    }


def element_payload(state: tuple[Any, ...], iso: Callable[[datetime], str] = datetime.isoformat) -> dict[str, Any]:
    """An element snapshot as it appears in an out-topic event (JSON-ready).

    Why snapshots: a refresh emits an event per change and keeps them to commit; a tuple per event instead
    of five dicts and lists makes the garbage collector's scans of the live heap much cheaper. The
    containers in a snapshot are never mutated (records replace them), so it stays as it was.
    """
    (
        guid, type_name, qualified_name, properties, curated, classifications, zones, collection, status,
        version, create_time, update_time, created_by_refresh, last_refresh_id, last_observed_time, curations,
    ) = state  # fmt: skip
    return {
        "guid": guid,
        "type_name": type_name,
        "qualified_name": qualified_name,
        "properties": properties,
        "curated_properties": curated,
        "curations": curations,
        "classifications": [{"name": n, "properties": p} for n, p in classifications.items()],
        "zone_membership": zones,
        "metadata_collection": collection,
        "status": status,
        "version": version,
        "create_time": iso(create_time),
        "update_time": iso(update_time),
        "provenance": {
            "created_by_refresh": created_by_refresh,
            "last_refresh_id": last_refresh_id,
            "last_observed_time": iso(last_observed_time) if last_observed_time is not None else None,
        },
    }


def element_json(state: tuple[Any, ...], iso: Callable[[datetime], str], properties_text: str | None = None) -> str:
    """`dumps(element_payload(state, iso))`, the same text, written directly.

    Why: a refresh writes an event per change, and building each payload's dicts only to encode them cost
    more than the database's insert of the event; here only non-empty maps go through the encoder, and not
    the properties when the caller has their text already (`properties_text`).
    """
    (
        guid, type_name, qualified_name, properties, curated, classifications, zones, collection, status,
        version, create_time, update_time, created_by_refresh, last_refresh_id, last_observed_time, curations,
    ) = state  # fmt: skip
    listed = dumps([{"name": n, "properties": p} for n, p in classifications.items()]) if classifications else "[]"
    observed = "null" if last_observed_time is None else _text(iso(last_observed_time))
    if properties_text is None:
        properties_text = column_json(properties)
    return (
        f'{{"guid":{_text(guid)},"type_name":{_text(type_name)},"qualified_name":{_text(qualified_name)},'
        f'"properties":{properties_text},"curated_properties":{dumps(curated) if curated else "{}"},'
        f'"curations":{dumps(curations) if curations else "{}"},'
        f'"classifications":{listed},"zone_membership":{dumps(zones) if zones else "[]"},'
        f'"metadata_collection":{_text(collection)},"status":{_text(status)},"version":{int(version)!r},'
        f'"create_time":{_text(iso(create_time))},"update_time":{_text(iso(update_time))},'
        f'"provenance":{{"created_by_refresh":{_optional_text(created_by_refresh)},'
        f'"last_refresh_id":{_optional_text(last_refresh_id)},"last_observed_time":{observed}}}}}'
    )


class RelationshipRecord:
    __slots__ = (
        "collection",
        "create_time",
        "created_by_refresh",
        "db_version",
        "end1_guid",
        "end2_guid",
        "guid",
        "last_refresh_id",
        "properties",
        "status",
        "type_name",
        "update_time",
        "version",
    )

    def __init__(
        self,
        *,
        guid: str,
        type_name: str,
        end1_guid: str,
        end2_guid: str,
        properties: dict[str, Any],
        collection: str,
        status: str,
        version: int,
        create_time: datetime,
        update_time: datetime,
        created_by_refresh: str | None,
        last_refresh_id: str | None,
        db_version: int | None,
    ) -> None:
        self.guid = guid
        self.type_name = type_name
        self.end1_guid = end1_guid
        self.end2_guid = end2_guid
        self.properties = properties
        self.collection = collection
        self.status = status
        self.version = version
        self.create_time = create_time
        self.update_time = update_time
        self.created_by_refresh = created_by_refresh
        self.last_refresh_id = last_refresh_id
        self.db_version = db_version

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.type_name, self.end1_guid, self.end2_guid)

    @classmethod
    def from_row(cls, row: Any) -> RelationshipRecord:
        """From a row of schema.relationship_columns, by position."""
        (
            guid,
            type_name,
            end1_guid,
            end2_guid,
            properties,
            collection,
            status,
            version,
            create_time,
            update_time,
            created_by_refresh,
            last_refresh_id,
        ) = row
        return cls(
            guid=guid,
            type_name=type_name,
            end1_guid=end1_guid,
            end2_guid=end2_guid,
            properties=json_value(properties),
            collection=collection,
            status=status,
            version=version,
            create_time=time_value(create_time),  # type: ignore[arg-type]
            update_time=time_value(update_time),  # type: ignore[arg-type]
            created_by_refresh=created_by_refresh,
            last_refresh_id=last_refresh_id,
            db_version=version,
        )

    def copy(self) -> RelationshipRecord:
        clone = RelationshipRecord.__new__(RelationshipRecord)
        for name in RelationshipRecord.__slots__:
            setattr(clone, name, getattr(self, name))
        clone.properties = dict(self.properties)
        return clone

    def row(self) -> dict[str, Any]:
        return {
            "guid": self.guid,
            "type_name": self.type_name,
            "end1_guid": self.end1_guid,
            "end2_guid": self.end2_guid,
            "properties": self.properties,
            "metadata_collection": self.collection,
            "status": self.status,
            "version": self.version,
            "create_time": self.create_time,
            "update_time": self.update_time,
            "created_by_refresh": self.created_by_refresh,
            "last_refresh_id": self.last_refresh_id,
        }

    def insert_tuple(self, time: Callable[[datetime | None], Any]) -> tuple[Any, ...]:
        """Values in RELATIONSHIP_INSERT_COLUMNS order, JSON serialised, times by `time` (bulk.time_writer)."""
        return (
            self.guid, self.type_name, self.end1_guid, self.end2_guid, column_json(self.properties), self.collection,
            self.status, self.version, time(self.create_time), time(self.update_time), self.created_by_refresh,
            self.last_refresh_id,
        )  # fmt: skip

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
        return _relationship_state(self)

    def payload(self) -> dict[str, Any]:
        return relationship_payload(self.snapshot())


RELATIONSHIP_STATE_FIELDS = (
    "guid", "type_name", "end1_guid", "end2_guid", "properties", "collection", "status", "version",
    "create_time", "update_time",
)  # fmt: skip
_relationship_state = attrgetter(*RELATIONSHIP_STATE_FIELDS)


def relationship_payload(state: tuple[Any, ...], iso: Callable[[datetime], str] = datetime.isoformat) -> dict[str, Any]:
    """A relationship snapshot as it appears in an out-topic event (see `element_payload`)."""
    guid, type_name, end1_guid, end2_guid, properties, collection, status, version, create_time, update_time = state
    return {
        "guid": guid,
        "type_name": type_name,
        "end1_guid": end1_guid,
        "end2_guid": end2_guid,
        "properties": properties,
        "metadata_collection": collection,
        "status": status,
        "version": version,
        "create_time": iso(create_time),
        "update_time": iso(update_time),
    }


def relationship_json(state: tuple[Any, ...], iso: Callable[[datetime], str]) -> str:
    """`dumps(relationship_payload(state, iso))`, written directly (see `element_json`)."""
    guid, type_name, end1_guid, end2_guid, properties, collection, status, version, create_time, update_time = state
    return (
        f'{{"guid":{_text(guid)},"type_name":{_text(type_name)},"end1_guid":{_text(end1_guid)},'
        f'"end2_guid":{_text(end2_guid)},"properties":{column_json(properties)},'
        f'"metadata_collection":{_text(collection)},"status":{_text(status)},"version":{int(version)!r},'
        f'"create_time":{_text(iso(create_time))},"update_time":{_text(iso(update_time))}}}'
    )
