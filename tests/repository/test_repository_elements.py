"""Element writes on both backends: create, upsert, update, curate, archive, restore, delete, classify, zones."""

from __future__ import annotations

import pytest

from metaferry_runtime.repository import (
    ChangeKind,
    DuplicateQualifiedName,
    ElementNotFound,
    InstanceStatus,
    MetadataRepository,
    NotOwner,
    StaleVersion,
    TypeErrorInRepository,
)
from tests.repository.conftest import ACTOR, OTHER


def test_create_then_read_back_by_guid_and_name(repository: MetadataRepository) -> None:
    with repository.transaction(actor=ACTOR, refresh_id="r1") as tx:
        created = tx.create_element("DataFile", "file:///data/a.csv", {"name": "a.csv", "size": 10})
    with repository.transaction(actor=ACTOR) as tx:
        by_guid = tx.get_element(created.guid)
        by_name = tx.find_element_by_name("file:///data/a.csv")
    assert by_guid == by_name
    assert by_guid.properties == {"name": "a.csv", "size": 10}
    assert by_guid.metadata_collection == ACTOR
    assert by_guid.version == 1
    assert by_guid.provenance.created_by_refresh == "r1"
    assert by_guid.provenance.last_observed_time is not None


def test_create_with_an_existing_qualified_name_is_refused(repository: MetadataRepository) -> None:
    with repository.transaction(actor=ACTOR) as tx:
        tx.create_element("DataFile", "file:///a", {})
    with pytest.raises(DuplicateQualifiedName), repository.transaction(actor=OTHER) as tx:
        tx.create_element("DataFile", "file:///a", {})


def test_upsert_creates_updates_and_leaves_unchanged(repository: MetadataRepository) -> None:
    with repository.transaction(actor=ACTOR) as tx:
        first, kind1 = tx.upsert_element("DataFile", "file:///a", {"size": 1})
    with repository.transaction(actor=ACTOR) as tx:
        same, kind2 = tx.upsert_element("DataFile", "file:///a", {"size": 1})
        changed, kind3 = tx.upsert_element("DataFile", "file:///a", {"size": 2})
        counts = tx.counts
    assert (kind1, kind2, kind3) == (ChangeKind.ELEMENT_CREATED, ChangeKind.UNCHANGED, ChangeKind.ELEMENT_UPDATED)
    assert same.version == 1
    assert changed.version == 2
    assert changed.guid == first.guid
    assert (counts.unchanged, counts.updated) == (1, 1)


def test_upsert_of_an_unchanged_element_neither_bumps_the_version_nor_publishes(
    repository: MetadataRepository,
) -> None:
    with repository.transaction(actor=ACTOR, refresh_id="r1") as tx:
        tx.upsert_element("DataFile", "file:///a", {"size": 1})
    head = list(repository.events_since(0))[-1].sequence
    with repository.transaction(actor=ACTOR, refresh_id="r2") as tx:
        element, kind = tx.upsert_element("DataFile", "file:///a", {"size": 1})
    assert kind is ChangeKind.UNCHANGED
    assert list(repository.events_since(head)) == []
    with repository.transaction(actor=ACTOR) as tx:
        stored = tx.get_element(element.guid)
    assert stored.version == 1
    assert stored.provenance.last_refresh_id == "r2"  # observed by the second refresh
    assert stored.provenance.created_by_refresh == "r1"


def test_upsert_of_an_archived_element_restores_it(repository: MetadataRepository) -> None:
    with repository.transaction(actor=ACTOR) as tx:
        element = tx.create_element("DataFile", "file:///a", {})
        tx.archive_element(element.guid)
    with repository.transaction(actor=ACTOR) as tx:
        restored, kind = tx.upsert_element("DataFile", "file:///a", {"size": 3})
        assert tx.counts.restored == 1
    assert kind is ChangeKind.ELEMENT_RESTORED
    assert restored.status is InstanceStatus.ACTIVE


def test_update_merges_or_replaces_harvested_properties(repository: MetadataRepository) -> None:
    with repository.transaction(actor=ACTOR) as tx:
        element = tx.create_element("DataFile", "file:///a", {"name": "a", "size": 1})
        merged = tx.update_element(element.guid, {"size": 2})
        replaced = tx.update_element(element.guid, {"fileType": "csv"}, merge=False)
        removed = tx.update_element(element.guid, {"fileType": None})
    assert merged.properties == {"name": "a", "size": 2}
    assert replaced.properties == {"fileType": "csv"}
    assert removed.properties == {}


def test_curated_properties_win_over_the_next_refresh(repository: MetadataRepository) -> None:
    with repository.transaction(actor=ACTOR) as tx:
        element, _ = tx.upsert_element("DataFile", "file:///a", {"description": "harvested", "size": 1})
    with repository.transaction(actor="people/steward") as tx:
        tx.curate_element(element.guid, {"description": "what the steward wrote"}, curator="steward")
    with repository.transaction(actor=ACTOR) as tx:
        refreshed, kind = tx.upsert_element("DataFile", "file:///a", {"description": "harvested again", "size": 1})
    assert kind is ChangeKind.ELEMENT_UPDATED
    assert refreshed.properties["description"] == "harvested again"
    assert refreshed.effective_properties["description"] == "what the steward wrote"
    with repository.transaction(actor="people/steward") as tx:
        uncurated = tx.curate_element(element.guid, {"description": None}, curator="steward")
    assert uncurated.effective_properties["description"] == "harvested again"


def test_a_curation_records_who_made_it_and_when_on_the_element(repository: MetadataRepository) -> None:
    with repository.transaction(actor=ACTOR) as tx:
        element, _ = tx.upsert_element("DataFile", "file:///a", {"description": "harvested"})
    with repository.transaction(actor="people/stewards") as tx:
        tx.curate_element(element.guid, {"description": "by alice", "displayName": "A"}, curator="alice")
    with repository.transaction(actor="people/stewards") as tx:
        tx.curate_element(element.guid, {"displayName": "Sales A"}, curator="bob")
    with repository.transaction(actor=ACTOR) as tx:
        curated = tx.get_element(element.guid)
    assert curated.curated_properties == {"description": "by alice", "displayName": "Sales A"}
    assert {name: c.curator for name, c in curated.curations.items()} == {"description": "alice", "displayName": "bob"}
    assert curated.curations["description"].time <= curated.curations["displayName"].time <= curated.update_time
    last = list(repository.events_since(0))[-1]
    assert last.element is not None and last.element.curations == curated.curations
    with repository.transaction(actor="people/stewards") as tx:
        uncurated = tx.curate_element(element.guid, {"displayName": None}, curator="carol")
    assert set(uncurated.curations) == {"description"}  # a curation removed takes its record with it


def test_a_curation_without_a_curator_is_refused(repository: MetadataRepository) -> None:
    with repository.transaction(actor=ACTOR) as tx:
        element = tx.create_element("DataFile", "file:///a", {})
        with pytest.raises(ValueError, match="curator"):
            tx.curate_element(element.guid, {"description": "anonymous"}, curator=" ")
        assert tx.get_element(element.guid).curated_properties == {}


def test_archive_hides_an_element_and_restore_brings_it_back(repository: MetadataRepository) -> None:
    with repository.transaction(actor=ACTOR) as tx:
        element = tx.create_element("DataFile", "file:///a", {})
        archived = tx.archive_element(element.guid)
        assert tx.counts.archived == 1
    assert archived.status is InstanceStatus.ARCHIVED
    with repository.transaction(actor=ACTOR) as tx:
        with pytest.raises(ElementNotFound):
            tx.get_element(element.guid)
        assert tx.find_element_by_name("file:///a") is None
        assert tx.get_element(element.guid, include_archived=True).status is InstanceStatus.ARCHIVED
        restored = tx.restore_element(element.guid)
    assert restored.status is InstanceStatus.ACTIVE
    assert restored.version == 3


def test_delete_purges_the_element_and_its_relationships(repository: MetadataRepository) -> None:
    with repository.transaction(actor=ACTOR) as tx:
        folder = tx.create_element("FileFolder", "file:///d", {})
        file = tx.create_element("DataFile", "file:///d/a", {})
        tx.create_relationship("NestedFile", folder.guid, file.guid)
    with repository.transaction(actor=ACTOR) as tx:
        tx.delete_element(file.guid)
        assert tx.counts.deleted == 1
    with repository.transaction(actor=ACTOR) as tx:
        with pytest.raises(ElementNotFound):
            tx.get_element(file.guid, include_archived=True)
        assert tx.get_relationships(folder.guid) == []
    kinds = [event.kind for event in repository.events_since(0)][-2:]
    assert kinds == [ChangeKind.RELATIONSHIP_DELETED, ChangeKind.ELEMENT_DELETED]


def test_classifications_are_added_replaced_and_removed(repository: MetadataRepository) -> None:
    with repository.transaction(actor=ACTOR) as tx:
        column = tx.create_element("RelationalColumn", "db.s.t.id", {"dataType": "int", "position": 1})
        tx.classify_element(column.guid, "PrimaryKey", {"name": "pk_t"})
        tx.classify_element(column.guid, "PrimaryKey", {"name": "pk_t2"})
        classified = tx.get_element(column.guid)
        declassified = tx.declassify_element(column.guid, "PrimaryKey")
        file = tx.create_element("DataFile", "file:///a", {})
        with pytest.raises(TypeErrorInRepository, match="PrimaryKey is not valid on DataFile"):
            tx.classify_element(file.guid, "PrimaryKey")
    pk = classified.classification("PrimaryKey")
    assert pk is not None
    assert pk.properties == {"name": "pk_t2"}
    assert declassified.classifications == []
    kinds = [event.kind for event in repository.events_since(0)]
    assert kinds[1:4] == [
        ChangeKind.ELEMENT_CLASSIFIED,
        ChangeKind.ELEMENT_RECLASSIFIED,
        ChangeKind.ELEMENT_DECLASSIFIED,
    ]


def test_publish_adds_zones_and_withdraw_removes_them(repository: MetadataRepository) -> None:
    with repository.transaction(actor=ACTOR) as tx:
        element = tx.create_element("DataFile", "file:///a", {}, zones=["quarantine"])
        published = tx.publish_element(element.guid, ["data-lake", "quarantine"])
        partly = tx.withdraw_element(element.guid, ["quarantine"])
        withdrawn = tx.withdraw_element(element.guid)
    assert published.zone_membership == ["quarantine", "data-lake"]
    assert partly.zone_membership == ["data-lake"]
    assert withdrawn.zone_membership == []


def test_only_the_owning_collection_may_change_an_element(repository: MetadataRepository) -> None:
    with repository.transaction(actor=ACTOR) as tx:
        element = tx.create_element("DataFile", "file:///a", {})
    with repository.transaction(actor=OTHER) as tx:
        for attempt in (
            lambda: tx.update_element(element.guid, {"size": 1}),
            lambda: tx.archive_element(element.guid),
            lambda: tx.delete_element(element.guid),
            lambda: tx.publish_element(element.guid, ["z"]),
            lambda: tx.upsert_element("DataFile", "file:///a", {}),
        ):
            with pytest.raises(NotOwner, match=f"{OTHER} may not .* owned by metadata collection {ACTOR}"):
                attempt()


def test_only_the_owning_collection_may_classify_or_declassify_an_element(repository: MetadataRepository) -> None:
    with repository.transaction(actor=ACTOR) as tx:
        column = tx.create_element("RelationalColumn", "db.s.t.id", {"dataType": "int", "position": 1})
        tx.classify_element(column.guid, "PrimaryKey", {"name": "pk_t"})
    head = list(repository.events_since(0))[-1].sequence
    with repository.transaction(actor=OTHER) as tx:
        for attempt in (
            lambda: tx.classify_element(column.guid, "Confidentiality", {"level": 4}),
            lambda: tx.classify_element(column.guid, "PrimaryKey", {"name": "hijacked"}),
            lambda: tx.declassify_element(column.guid, "PrimaryKey"),
        ):
            with pytest.raises(NotOwner, match=f"{OTHER} may not .*classify .* owned by metadata collection {ACTOR}"):
                attempt()
    with repository.transaction(actor=ACTOR) as tx:
        stored = tx.get_element(column.guid)
    assert [(c.name, c.properties) for c in stored.classifications] == [("PrimaryKey", {"name": "pk_t"})]
    assert list(repository.events_since(head)) == []


def test_upserting_a_name_another_collection_owns_is_refused_and_writes_nothing(
    repository: MetadataRepository,
) -> None:
    with repository.transaction(actor=OTHER) as tx:
        tx.create_element("DataFile", "file:///theirs", {})
    with (  # noqa: PT012 - the refusal may come at the flush, i.e. at commit
        pytest.raises(NotOwner, match=f"owned by metadata collection {OTHER}"),
        repository.transaction(actor=ACTOR) as tx,
    ):
        tx.upsert_element("DataFile", "file:///mine", {})
        tx.upsert_element("DataFile", "file:///theirs", {})
    with repository.transaction(actor=ACTOR) as tx:
        assert tx.find_element_by_name("file:///mine") is None


def test_an_update_against_an_old_version_is_refused(repository: MetadataRepository) -> None:
    with repository.transaction(actor=ACTOR) as tx:
        element = tx.create_element("DataFile", "file:///a", {})
        tx.update_element(element.guid, {"size": 1}, expected_version=1)
    with pytest.raises(StaleVersion, match="at version 2, not 1"), repository.transaction(actor=ACTOR) as tx:
        tx.update_element(element.guid, {"size": 2}, expected_version=1)


def test_writes_of_unknown_types_or_properties_are_refused(repository: MetadataRepository) -> None:
    with repository.transaction(actor=ACTOR) as tx:
        with pytest.raises(TypeErrorInRepository, match="unknown element type 'Spreadsheet'"):
            tx.create_element("Spreadsheet", "x", {})
        with pytest.raises(TypeErrorInRepository, match="'colour' is not allowed on DataFile"):
            tx.upsert_element("DataFile", "x", {"colour": "red"})
        folder = tx.create_element("FileFolder", "file:///d", {})
        other = tx.create_element("FileFolder", "file:///e", {})
        with pytest.raises(TypeErrorInRepository, match="NestedFile end 2 must be a DataFile"):
            tx.create_relationship("NestedFile", folder.guid, other.guid)
        with pytest.raises(TypeErrorInRepository, match="unknown relationship type"):
            tx.create_relationship("Nested", folder.guid, other.guid)


def test_a_large_refresh_loads_its_collection_once_and_still_refuses_foreign_names(
    repository: MetadataRepository,
) -> None:
    names = [f"file:///big/{i:04}" for i in range(300)]  # beyond the one-by-one look-ups
    with repository.transaction(actor=OTHER) as tx:
        tx.create_element("DataFile", "file:///big/theirs", {})
    with repository.transaction(actor=ACTOR) as tx:
        kinds = {tx.upsert_element("DataFile", name, {"size": 1})[1] for name in names}
    assert kinds == {ChangeKind.ELEMENT_CREATED}
    with repository.transaction(actor=ACTOR) as tx:
        kinds = {tx.upsert_element("DataFile", name, {"size": 1})[1] for name in names}
        assert tx.counts.unchanged == 300
    assert kinds == {ChangeKind.UNCHANGED}
    with (  # noqa: PT012 - the refusal of a name met after the bulk load comes at the flush
        pytest.raises(NotOwner, match=f"owned by metadata collection {OTHER}"),
        repository.transaction(actor=ACTOR) as tx,
    ):
        for name in names:
            tx.upsert_element("DataFile", name, {"size": 2})
        tx.upsert_element("DataFile", "file:///big/theirs", {})
