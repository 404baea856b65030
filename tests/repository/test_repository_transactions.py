"""Atomicity and the events a transaction writes: all or nothing, previous versions, provenance."""

from __future__ import annotations

import pytest

from metaferry_runtime.repository import ChangeKind, MetadataRepository, RepositoryError
from tests.repository.conftest import ACTOR


class Boom(Exception):
    pass


def test_an_exception_mid_batch_leaves_no_element_relationship_or_event(repository: MetadataRepository) -> None:
    with repository.transaction(actor=ACTOR) as tx:
        kept = tx.create_element("FileFolder", "file:///kept", {})
    head = list(repository.events_since(0))[-1].sequence
    with pytest.raises(Boom), repository.transaction(actor=ACTOR) as tx:  # noqa: PT012 - a failing refresh
        folder = tx.create_element("FileFolder", "file:///d", {})
        for i in range(50):
            file, _ = tx.upsert_element("DataFile", f"file:///d/{i}", {"size": i})
            tx.upsert_relationship("NestedFile", folder.guid, file.guid)
        tx.update_element(kept.guid, {"name": "renamed"})
        tx.find_elements(type_name="DataFile")  # forces a flush: rows are in the database, uncommitted
        raise Boom
    with repository.transaction(actor=ACTOR) as tx:
        assert tx.find_elements(type_name="Referenceable") == [tx.get_element(kept.guid)]
        assert tx.get_element(kept.guid).properties == {}
        assert tx.get_relationships(kept.guid) == []
    assert list(repository.events_since(head)) == []


def test_a_transaction_cannot_be_used_after_it_ends(repository: MetadataRepository) -> None:
    with repository.transaction(actor=ACTOR) as tx:
        pass
    with pytest.raises(RepositoryError, match="ended"):
        tx.create_element("DataFile", "file:///late", {})


def test_events_carry_kind_previous_version_actor_and_refresh(repository: MetadataRepository) -> None:
    with repository.transaction(actor=ACTOR, refresh_id="r1") as tx:
        element = tx.create_element("DataFile", "file:///a", {"size": 1})
    with repository.transaction(actor=ACTOR, refresh_id="r2") as tx:
        tx.update_element(element.guid, {"size": 2})
        tx.archive_element(element.guid)
        tx.restore_element(element.guid)
    created, updated, archived, restored = list(repository.events_since(0))
    assert [e.kind for e in (created, updated, archived, restored)] == [
        ChangeKind.ELEMENT_CREATED,
        ChangeKind.ELEMENT_UPDATED,
        ChangeKind.ELEMENT_ARCHIVED,
        ChangeKind.ELEMENT_RESTORED,
    ]
    assert created.sequence < updated.sequence < archived.sequence < restored.sequence
    assert created.previous_element is None
    assert created.refresh_id == "r1"
    assert updated.metadata_collection == ACTOR
    assert updated.previous_element is not None
    assert updated.previous_element.properties == {"size": 1}
    assert updated.previous_element.version == 1
    assert updated.element is not None
    assert updated.element.properties == {"size": 2}
    assert updated.element.version == 2
    assert archived.element is not None
    assert archived.element.status == "ARCHIVED"
    assert restored.element is not None
    assert restored.element.version == 4


def test_events_since_pages_forward_from_a_sequence(repository: MetadataRepository) -> None:
    with repository.transaction(actor=ACTOR) as tx:
        for i in range(5):
            tx.create_element("DataFile", f"file:///{i}", {})
    first_two = list(repository.events_since(0, limit=2))
    rest = list(repository.events_since(first_two[-1].sequence))
    assert [e.element.qualified_name for e in first_two + rest if e.element] == [f"file:///{i}" for i in range(5)]


def test_reopening_a_repository_keeps_its_data_and_schema(repository_url: str) -> None:
    from metaferry_runtime.repository import open_repository

    first = open_repository(repository_url)
    with first.transaction(actor=ACTOR) as tx:
        tx.create_element("DataFile", "file:///a", {})
    first.close()
    second = open_repository(repository_url)
    try:
        with second.transaction(actor=ACTOR) as tx:
            assert tx.find_element_by_name("file:///a") is not None
    finally:
        second.close()
