"""Relationship writes: create, upsert, update and delete links between elements.

Both ends must exist (and be active, except for an update); only the collection that made a relationship
may change it. Upserts find a relationship by its key (type and ends) as element upserts find elements by
qualified name: one by one at first, then from everything the actor owns (see base.PRELOAD_AFTER_LOOKUPS).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import delete

from metaferry_runtime.repository.errors import ElementNotFound, StaleVersion
from metaferry_runtime.repository.model import ChangeKind, Relationship
from metaferry_runtime.repository.sql.records import ElementRecord, RelationshipRecord
from metaferry_runtime.repository.sql.schema import relationships
from metaferry_runtime.repository.sql.transaction import rules
from metaferry_runtime.repository.sql.transaction.base import PRELOAD_AFTER_LOOKUPS, TransactionBase


class RelationshipWrites(TransactionBase):
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
        return rules.without_none(
            self._types.validate_relationship(type_name, end1.type_name, end2.type_name, properties)
        )

    def _new_relationship(self, type_name: str, end1: str, end2: str, properties: dict[str, Any]) -> RelationshipRecord:
        record = RelationshipRecord(
            type_name=type_name, end1_guid=end1, end2_guid=end2, properties=properties, **self._new_record_fields()
        )
        self._relationships.add(record)
        self._events.emit(ChangeKind.RELATIONSHIP_CREATED, relationship=record.snapshot())
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
        record = self._relationships.by_key.get(key)
        checked = False
        if record is None and not self._relationships.loaded:
            self._relationships.lookups += 1
            if self._relationships.lookups > PRELOAD_AFTER_LOOKUPS:
                self._load_owned(self._relationships)
                record = self._relationships.by_key.get(key)
            elif end1.db_version is not None and end2.db_version is not None:
                record = self._relationships.read_first(
                    self._relationships.select().where(
                        relationships.c.type_name == type_name,
                        relationships.c.end1_guid == end1_guid,
                        relationships.c.end2_guid == end2_guid,
                    )
                )
                checked = True
        if record is None:
            if not checked and end1.db_version is not None and end2.db_version is not None:
                self._relationships.unchecked.add(key)  # an end is new: nobody else can have linked it yet
            return self._new_relationship(type_name, end1_guid, end2_guid, validated), ChangeKind.RELATIONSHIP_CREATED
        self._require_owner(record, "update")
        if record.properties == validated:
            return record, ChangeKind.UNCHANGED
        self._change_relationship(record, validated)
        return record, ChangeKind.RELATIONSHIP_UPDATED

    def _change_relationship(self, record: RelationshipRecord, properties: dict[str, Any]) -> None:
        previous = record.snapshot()
        record.properties = properties
        self._stamp(record)
        self._relationships.changed(record)
        self._events.emit(
            ChangeKind.RELATIONSHIP_UPDATED, relationship=record.snapshot(), previous_relationship=previous
        )

    def _require_relationship(self, guid: str) -> RelationshipRecord:
        record = self._relationships.get(guid)
        if record is None:
            raise ElementNotFound(f"no relationship with guid {guid}")
        return record

    def update_relationship(self, guid: str, properties: Mapping[str, Any], *, merge: bool = True) -> Relationship:
        self._check_open()
        record = self._require_relationship(guid)
        self._require_owner(record, "update")
        end1 = self._require(record.end1_guid, include_archived=True)
        end2 = self._require(record.end2_guid, include_archived=True)
        validated = self._types.validate_relationship(record.type_name, end1.type_name, end2.type_name, properties)
        new = rules.without_none({**record.properties, **validated} if merge else validated)
        if new != record.properties:
            self._change_relationship(record, new)
        return record.model()

    def delete_relationship(self, guid: str) -> None:
        self._check_open()
        record = self._require_relationship(guid)
        self._require_owner(record, "delete")
        self.flush()
        deleted = self._db.execute(
            delete(relationships)
            .where(relationships.c.guid == guid)
            .where(relationships.c.version == record.db_version)
        )
        if deleted.rowcount != 1:
            raise StaleVersion(f"relationship {guid} changed in another transaction; it was not deleted")
        self._relationships.forget(record)
        self._events.emit(ChangeKind.RELATIONSHIP_DELETED, previous_relationship=record.snapshot())
