"""The mutable records a transaction works on, and their conversions to rows, models and event payloads.

A transaction keeps one record per element it has touched; the write path mutates records and queues them
for a batched flush, and hands callers immutable pydantic models built with `model_construct` (the record
was validated when it was written, so validating again would only cost time).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypeVar

from pydantic import BaseModel

from metaferry_runtime.repository.model import (
    Classification,
    Element,
    InstanceStatus,
    Provenance,
    Relationship,
)

SEARCH_SEPARATOR = "\x1f"
SEARCHED_PROPERTIES = ("name", "displayName", "description")

ACTIVE = InstanceStatus.ACTIVE.value
ARCHIVED = InstanceStatus.ARCHIVED.value


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

ELEMENT_INSERT_COLUMNS = (
    "guid", "type_name", "qualified_name", "properties", "curated_properties", "classifications", "zones",
    "metadata_collection", "status", "version", "create_time", "update_time", "created_by_refresh",
    "last_refresh_id", "last_observed_time", "search_text",
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


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class ElementRecord:
    __slots__ = (
        "classifications",
        "collection",
        "create_time",
        "created_by_refresh",
        "curated",
        "db_version",
        "guid",
        "last_observed_time",
        "last_refresh_id",
        "properties",
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
        properties: dict[str, Any],
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
    ) -> None:
        self.guid = guid
        self.type_name = type_name
        self.qualified_name = qualified_name
        self.properties = properties
        self.curated = curated
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
            _,
        ) = row
        return cls(
            guid=guid,
            type_name=type_name,
            qualified_name=qualified_name,
            properties=json_value(properties),
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
        )

    def search_text(self) -> str:
        parts = [self.qualified_name]
        for name in SEARCHED_PROPERTIES:
            for source in (self.properties, self.curated):
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
        }

    def insert_tuple(self) -> tuple[Any, ...]:
        """Values in ELEMENT_INSERT_COLUMNS order, JSON already serialised (for bulk.insert_rows)."""
        return (
            self.guid, self.type_name, self.qualified_name, dumps(self.properties), dumps(self.curated),
            dumps(self.classifications), dumps(self.zones), self.collection, self.status, self.version,
            self.create_time, self.update_time, self.created_by_refresh, self.last_refresh_id,
            self.last_observed_time, self.search_text(),
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
                "classifications": [
                    construct(Classification, {"name": name, "properties": dict(props)})
                    for name, props in self.classifications.items()
                ],
                "zone_membership": list(self.zones),
                "metadata_collection": self.collection,
                "status": InstanceStatus(self.status),
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

    def payload(self) -> dict[str, Any]:
        """The element as it appears in an out-topic event (JSON-ready)."""
        return {
            "guid": self.guid,
            "type_name": self.type_name,
            "qualified_name": self.qualified_name,
            "properties": self.properties,
            "curated_properties": self.curated,
            "classifications": [{"name": n, "properties": p} for n, p in self.classifications.items()],
            "zone_membership": self.zones,
            "metadata_collection": self.collection,
            "status": self.status,
            "version": self.version,
            "create_time": self.create_time.isoformat(),
            "update_time": self.update_time.isoformat(),
            "provenance": {
                "created_by_refresh": self.created_by_refresh,
                "last_refresh_id": self.last_refresh_id,
                "last_observed_time": _iso(self.last_observed_time),
            },
        }


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

    def insert_tuple(self) -> tuple[Any, ...]:
        """Values in RELATIONSHIP_INSERT_COLUMNS order, JSON already serialised."""
        return (
            self.guid, self.type_name, self.end1_guid, self.end2_guid, dumps(self.properties), self.collection,
            self.status, self.version, self.create_time, self.update_time, self.created_by_refresh,
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
                "status": InstanceStatus(self.status),
                "version": self.version,
                "create_time": self.create_time,
                "update_time": self.update_time,
            },
        )

    def payload(self) -> dict[str, Any]:
        return {
            "guid": self.guid,
            "type_name": self.type_name,
            "end1_guid": self.end1_guid,
            "end2_guid": self.end2_guid,
            "properties": self.properties,
            "metadata_collection": self.collection,
            "status": self.status,
            "version": self.version,
            "create_time": self.create_time.isoformat(),
            "update_time": self.update_time.isoformat(),
        }
