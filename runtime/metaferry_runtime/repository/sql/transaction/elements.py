"""Element writes: create, upsert, update, curate, archive and restore, delete, classify, zones.

Each write finds its record (`_require`, or by qualified name for upserts), checks that the actor owns it
(rules.require_owner), changes it (`_changed` stamps the version and queues the update) and queues the
event with the record's snapshots before and after.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import delete, or_, select

from metaferry_runtime.repository.errors import DuplicateQualifiedName, StaleVersion
from metaferry_runtime.repository.interface import UpsertItem
from metaferry_runtime.repository.model import ChangeKind, Element
from metaferry_runtime.repository.sql.codec import scalar_properties_json
from metaferry_runtime.repository.sql.records import ACTIVE, ARCHIVED, ElementRecord, RelationshipRecord
from metaferry_runtime.repository.sql.schema import elements, relationships
from metaferry_runtime.repository.sql.transaction import rules
from metaferry_runtime.repository.sql.transaction.base import PRELOAD_AFTER_LOOKUPS, TransactionBase

_ABSENT = object()
RENAMING = "the qualifiedName property cannot rename an element"


class ElementWrites(TransactionBase):
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

    def _classifications(
        self, type_name: str, classifications: Mapping[str, Mapping[str, Any]] | None
    ) -> dict[str, dict[str, Any]]:
        return {
            name: rules.without_none(self._types.validate_classification(name, type_name, props))
            for name, props in (classifications or {}).items()
        }

    def _new_record(
        self,
        type_name: str,
        qualified_name: str,
        properties: dict[str, Any],
        classifications: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> ElementRecord:
        record = ElementRecord(
            type_name=type_name,
            qualified_name=qualified_name,
            loaded_properties=properties,
            curated={},
            classifications=self._classifications(type_name, classifications),
            zones=[],
            last_observed_time=self._observed_at,
            curations={},
            **self._new_record_fields(),
        )
        self._elements.add(record)
        self._elements.observed.add(record.guid)
        self.counts.created += 1
        self._events.emit(ChangeKind.ELEMENT_CREATED, element=record.snapshot())
        return record

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
        validated_classifications = self._classifications(type_name, classifications)
        existing = self._elements.by_key.get(qualified_name)
        if existing is None and qualified_name not in self._elements.unchecked:
            row = self._db.execute(
                select(elements.c.guid, elements.c.metadata_collection).where(
                    elements.c.qualified_name == qualified_name
                )
            ).first()
            if row is not None:
                existing = self._elements.get(row.guid)
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
            self._events.replace_last(ChangeKind.ELEMENT_CREATED, element=record.snapshot())
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
        if not self._elements.loaded:
            unknown = sum(1 for item in items if item[1] not in self._elements.by_key)
            if self._elements.lookups + unknown > PRELOAD_AFTER_LOOKUPS:
                # These would be looked up one by one up to the limit, and then everything loaded anyway.
                self._load_owned(self._elements)
        upsert = self._upsert_record
        return [(record.guid, change) for record, change in (upsert(*item) for item in items)]

    def _upsert_record(
        self,
        type_name: str,
        qualified_name: str,
        properties: Mapping[str, Any],
        classifications: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> tuple[ElementRecord, ChangeKind]:
        record = self._elements.by_key.get(qualified_name)
        if record is not None and self._is_unchanged_upsert(record, type_name, properties):
            self._observe(record)
            self.counts.unchanged += 1
            return record, ChangeKind.UNCHANGED
        harvested = self._harvested(type_name, qualified_name, properties)
        if record is None and not self._elements.loaded:
            self._elements.lookups += 1
            if self._elements.lookups > PRELOAD_AFTER_LOOKUPS:
                self._load_owned(self._elements)
                record = self._elements.by_key.get(qualified_name)
            else:
                record = self._elements.read_first(
                    self._elements.select().where(elements.c.qualified_name == qualified_name)
                )
                if record is None:
                    record = self._new_record(type_name, qualified_name, harvested, classifications)
                    return record, ChangeKind.ELEMENT_CREATED
        if record is None:
            self._elements.unchecked.add(qualified_name)
            return self._new_record(type_name, qualified_name, harvested, classifications), ChangeKind.ELEMENT_CREATED
        self._require_owner(record, "update")
        if record.status == ARCHIVED:
            previous = record.snapshot()
            record.status = ACTIVE
            record.type_name = type_name
            record.properties = harvested
            self._observe(record)
            self._element_changed(record, previous, ChangeKind.ELEMENT_RESTORED)
            self.counts.restored += 1
            return record, ChangeKind.ELEMENT_RESTORED
        if record.properties == harvested and record.type_name == type_name:
            self._observe(record)
            self.counts.unchanged += 1
            return record, ChangeKind.UNCHANGED
        previous = record.snapshot()
        record.type_name = type_name
        record.properties = harvested
        self._observe(record)
        self._element_changed(record, previous)
        self.counts.updated += 1
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
        rules.drop_qualified_name(validated, record.qualified_name, renaming=RENAMING)
        harvested = rules.without_none({**record.properties, **validated} if merge else validated)
        self._observe(record)
        if harvested == record.properties:
            self.counts.unchanged += 1
            return record.model()
        previous = record.snapshot()
        record.properties = harvested
        self._element_changed(record, previous)
        self.counts.updated += 1
        return record.model()

    def curate_element(self, guid: str, properties: Mapping[str, Any], *, curator: str) -> Element:
        """Merge human edits, each changed property recorded as the curator's at this transaction's time; a
        None value removes that curation and its record (the harvested value shows again)."""
        if not curator.strip():
            raise ValueError("a curation needs its curator: the person who made the edit")
        self._check_open()
        record = self._require(guid)
        validated = self._types.validate_element(record.type_name, properties)
        rules.drop_qualified_name(validated, record.qualified_name, renaming=RENAMING)
        curated = rules.without_none({**record.curated, **validated})
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
        self._element_changed(record, previous)
        self.counts.updated += 1
        return record.model()

    def _set_status(self, record: ElementRecord, status: str, kind: ChangeKind) -> None:
        previous = record.snapshot()
        record.status = status
        self._element_changed(record, previous, kind)

    def _move(self, guid: str, *, action: str, to: str, kind: ChangeKind) -> tuple[ElementRecord, bool]:
        """Archive or restore: the record, and whether its status changed."""
        self._check_open()
        record = self._require(guid, include_archived=True)
        self._require_owner(record, action)
        if record.status == to:
            return record, False
        self._set_status(record, to, kind)
        return record, True

    def archive_element(self, guid: str) -> Element:
        record, moved = self._move(guid, action="archive", to=ARCHIVED, kind=ChangeKind.ELEMENT_ARCHIVED)
        if moved:
            self.counts.archived += 1
        return record.model()

    def restore_element(self, guid: str) -> Element:
        record, moved = self._move(guid, action="restore", to=ACTIVE, kind=ChangeKind.ELEMENT_RESTORED)
        if moved:
            self.counts.restored += 1
        return record.model()

    def delete_element(self, guid: str) -> None:
        """Purge it and its relationships; the events carry the last state in `previous_element`/`_relationship`."""
        self._check_open()
        record = self._require(guid, include_archived=True)
        self._require_owner(record, "delete")
        self.flush()
        attached = self._db.execute(
            self._relationships.select().where(
                or_(relationships.c.end1_guid == guid, relationships.c.end2_guid == guid)
            )
        ).all()
        for row in attached:
            rel = self._relationships.by_guid.get(row.guid) or RelationshipRecord.from_row(row)
            self._relationships.forget(rel)
            self._events.emit(ChangeKind.RELATIONSHIP_DELETED, previous_relationship=rel.snapshot())
        self._db.execute(
            delete(relationships).where(or_(relationships.c.end1_guid == guid, relationships.c.end2_guid == guid))
        )
        deleted = self._db.execute(
            delete(elements).where(elements.c.guid == guid).where(elements.c.version == record.db_version)
        )
        if deleted.rowcount != 1:
            raise StaleVersion(f"{record.qualified_name!r} changed in another transaction; it was not deleted")
        self._elements.forget(record)
        self.counts.deleted += 1
        self._events.emit(ChangeKind.ELEMENT_DELETED, previous_element=record.snapshot())

    def classify_element(self, guid: str, classification: str, properties: Mapping[str, Any] | None = None) -> Element:
        """Only the owning collection may classify (as it alone may update): see the interface."""
        self._check_open()
        record = self._require(guid)
        self._require_owner(record, "classify")
        validated = rules.without_none(
            self._types.validate_classification(classification, record.type_name, properties)
        )
        existing = record.classifications.get(classification)
        if existing == validated:
            return record.model()
        previous = record.snapshot()
        record.classifications = {**record.classifications, classification: validated}
        kind = ChangeKind.ELEMENT_CLASSIFIED if existing is None else ChangeKind.ELEMENT_RECLASSIFIED
        self._element_changed(record, previous, kind)
        self.counts.updated += 1
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
        self._element_changed(record, previous, ChangeKind.ELEMENT_DECLASSIFIED)
        self.counts.updated += 1
        return record.model()

    def _set_zones(self, record: ElementRecord, zones: list[str]) -> None:
        if zones == record.zones:
            return
        previous = record.snapshot()
        record.zones = zones
        self._element_changed(record, previous)
        self.counts.updated += 1

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
