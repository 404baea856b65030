"""The write path's shortcuts (cheap GUIDs, unchanged upserts without re-validation, set-based checks) keep
the same guarantees as the long way round."""

from __future__ import annotations

import uuid

import pytest

from metaferry_runtime.repository import ChangeKind, MetadataRepository, NotOwner, TypeErrorInRepository
from metaferry_runtime.repository.sql.records import new_guid
from tests.repository.conftest import ACTOR, OTHER


def test_guids_are_distinct_version_4_uuids() -> None:
    guids = [new_guid() for _ in range(5000)]
    assert len(set(guids)) == len(guids)
    for guid in guids[::97]:
        parsed = uuid.UUID(guid)
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
        assert str(parsed) == guid


@pytest.mark.parametrize("wrong", [True, 1.5, "12"])
def test_an_unchanged_looking_upsert_with_the_wrong_kind_is_still_refused(
    repository: MetadataRepository, wrong: object
) -> None:
    with repository.transaction(actor=ACTOR) as transaction:
        transaction.upsert_element("DataFile", "file:///size", {"name": "size", "size": 1})
    with pytest.raises(TypeErrorInRepository), repository.transaction(actor=ACTOR) as transaction:
        transaction.upsert_element("DataFile", "file:///size", {"name": "size", "size": wrong})


def test_an_integer_equal_float_is_a_change_not_unchanged(repository: MetadataRepository) -> None:
    with repository.transaction(actor=ACTOR) as transaction:
        transaction.upsert_element("DataFile", "file:///one", {"name": "one", "size": 1})
    with repository.transaction(actor=ACTOR) as transaction:
        _, kind = transaction.upsert_element("DataFile", "file:///one", {"name": "one", "size": 1})
    assert kind is ChangeKind.UNCHANGED
    with pytest.raises(TypeErrorInRepository), repository.transaction(actor=ACTOR) as transaction:
        transaction.upsert_element("DataFile", "file:///one", {"name": "one", "size": 1.0})


def test_ownership_is_checked_for_many_names_at_once(repository: MetadataRepository) -> None:
    names = [f"file:///owned/{index}" for index in range(700)]
    with repository.transaction(actor=ACTOR) as transaction:
        for name in names:
            transaction.upsert_element("DataFile", name, {"name": name})

    def take_over() -> None:
        with repository.transaction(actor=OTHER) as transaction:
            for name in names:
                transaction.upsert_element("DataFile", name, {"name": name, "description": "taken over"})

    with pytest.raises(NotOwner):
        take_over()
    with repository.transaction(actor=ACTOR) as transaction:
        element = transaction.find_element_by_name(names[-1])
    assert element is not None and element.metadata_collection == ACTOR
    assert "description" not in element.properties


def test_events_carry_the_element_as_stored(repository: MetadataRepository) -> None:
    with repository.transaction(actor=ACTOR) as transaction:
        created, _ = transaction.upsert_element(
            "CSVFile", "file:///events.csv", {"name": "events.csv", "columnNames": ["a", "é"], "size": 3}
        )
        transaction.classify_element(created.guid, "Confidentiality", {"level": 2})
    with repository.transaction(actor=ACTOR) as transaction:
        stored = transaction.get_element(created.guid)
    events = [e for e in repository.events_since(0) if e.element is not None and e.element.guid == created.guid]
    assert [e.kind for e in events] == [ChangeKind.ELEMENT_CREATED, ChangeKind.ELEMENT_CLASSIFIED]
    assert events[-1].element is not None
    assert events[-1].element.properties == stored.properties
    assert events[-1].element.classifications == stored.classifications
    assert events[-1].element.version == stored.version


def test_bulk_upserts_do_what_one_upsert_each_does(repository: MetadataRepository) -> None:
    with repository.transaction(actor=ACTOR) as transaction:
        folder, _ = transaction.upsert_element("FileFolder", "file:///bulk", {"name": "bulk"})
        first = transaction.upsert_elements(
            [("CSVFile", "file:///bulk/a.csv", {"name": "a.csv"}), ("DataFile", "file:///bulk/b", {"name": "b"})]
        )
        links = transaction.upsert_relationships([("NestedFile", folder.guid, guid, None) for guid, _ in first])
    assert [change for _, change in first] == [ChangeKind.ELEMENT_CREATED] * 2
    assert [change for _, change in links] == [ChangeKind.RELATIONSHIP_CREATED] * 2
    with repository.transaction(actor=ACTOR, refresh_id="again") as transaction:
        again = transaction.upsert_elements(
            [("CSVFile", "file:///bulk/a.csv", {"name": "a.csv"}), ("DataFile", "file:///bulk/b", {"name": "B"})]
        )
        relinked = transaction.upsert_relationships([("NestedFile", folder.guid, guid, None) for guid, _ in first])
        counts = transaction.counts
        stored = transaction.get_element(first[1][0])
        related = transaction.get_related_elements(folder.guid, relationship_type="NestedFile", at_end=1)
    assert again == [(first[0][0], ChangeKind.UNCHANGED), (first[1][0], ChangeKind.ELEMENT_UPDATED)]
    assert relinked == [(guid, ChangeKind.UNCHANGED) for guid, _ in links]
    assert (counts.unchanged, counts.updated) == (1, 1), "the counts behind the write metrics"
    assert stored.properties == {"name": "B"}
    assert {element.guid for element in related} == {guid for guid, _ in first}


def test_bulk_upserts_refuse_what_another_collection_owns(repository: MetadataRepository) -> None:
    with repository.transaction(actor=OTHER) as transaction:
        transaction.upsert_element("DataFile", "file:///theirs", {"name": "theirs"})
    with pytest.raises(NotOwner), repository.transaction(actor=ACTOR) as transaction:
        transaction.upsert_elements(
            [("DataFile", "file:///mine", {"name": "mine"}), ("DataFile", "file:///theirs", {"name": "mine now"})]
        )
    with repository.transaction(actor=ACTOR) as transaction:
        assert transaction.find_element_by_name("file:///mine") is None, "the transaction rolled back whole"
        theirs = transaction.find_element_by_name("file:///theirs")
    assert theirs is not None and theirs.properties == {"name": "theirs"}
