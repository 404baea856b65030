"""Atomicity and the events a transaction writes: all or nothing, previous versions, provenance."""

from __future__ import annotations

import gc
import threading
import time
import weakref

import psycopg
import pytest

from metaferry_runtime.repository import (
    ChangeKind,
    MetadataRepository,
    RepositoryError,
    Transaction,
    TransactionAborted,
    open_repository,
)
from tests.repository.conftest import ACTOR, OTHER
from tests.waiting import wait_for


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


def test_a_refresh_transaction_is_freed_as_soon_as_it_ends(repository: MetadataRepository) -> None:
    """No reference cycle keeps a transaction (and every record it cached) alive until the cyclic collector
    runs: a refresh holds tens of thousands of records, and the next refresh would scan them."""
    gc.collect()
    gc.disable()
    try:
        with repository.transaction(actor=ACTOR, refresh_id="r1") as tx:
            tx.upsert_elements([("DataFile", f"file://x/{i}", {"name": f"f{i}"}) for i in range(10)])
            ended = weakref.ref(tx)
        del tx
        assert ended() is None
    finally:
        gc.enable()


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


def test_every_kind_of_write_publishes_the_collection_and_refresh_that_made_it(
    repository: MetadataRepository,
) -> None:
    with repository.transaction(actor=ACTOR, refresh_id="r1") as tx:
        gone = tx.create_element("DataFile", "file:///gone", {})
        purged = tx.create_element("DataFile", "file:///purged", {})
    head = list(repository.events_since(0))[-1].sequence
    with repository.transaction(actor=ACTOR, refresh_id="r2") as tx:
        key = tx.create_element("RelationalColumn", "db.s.t.id", {"dataType": "int", "position": 1})
        ref, _ = tx.upsert_element("RelationalColumn", "db.s.u.t_id", {"dataType": "int", "position": 1})
        [(file, _)] = tx.upsert_elements([("DataFile", "file:///kept", {"size": 1})])
        tx.update_element(file, {"size": 2})
        tx.curate_element(file, {"description": "by a person"}, curator="alice")
        tx.classify_element(key.guid, "PrimaryKey", {"name": "pk"})
        tx.classify_element(key.guid, "PrimaryKey", {"name": "pk2"})
        tx.declassify_element(key.guid, "PrimaryKey")
        tx.publish_element(file, ["public"])
        tx.withdraw_element(file)
        link = tx.create_relationship("ForeignKey", key.guid, ref.guid, {"name": "fk"})
        tx.upsert_relationship("ForeignKey", key.guid, ref.guid, {"name": "fk2"})
        tx.update_relationship(link.guid, {"name": "fk3"})
        tx.delete_relationship(link.guid)
        tx.archive_element(file)
        tx.restore_element(file)
        tx.mark_observed(file)
        tx.mark_observed(purged.guid)
        for guid in (key.guid, ref.guid):
            tx.mark_observed(guid)
        tx.archive_unobserved(type_names=["Referenceable"], max_archive_percent=100)
        tx.delete_element(purged.guid)
    with repository.transaction(actor=OTHER) as tx:
        tx.create_element("DataFile", "file:///theirs", {})
    events = list(repository.events_since(head))
    assert {e.kind for e in events} == set(ChangeKind) - {ChangeKind.UNCHANGED}
    assert {(e.metadata_collection, e.refresh_id) for e in events[:-1]} == {(ACTOR, "r2")}
    assert (events[-1].metadata_collection, events[-1].refresh_id) == (OTHER, None)
    assert [e.element.guid for e in events if e.kind is ChangeKind.ELEMENT_ARCHIVED and e.element][-1] == gone.guid


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


def test_a_database_from_before_curation_records_gains_them_when_opened(repository_url: str) -> None:
    from sqlalchemy import create_engine, text

    from metaferry_runtime.repository.sql.engines import normalise_url

    first = open_repository(repository_url)
    with first.transaction(actor=ACTOR) as tx:
        element = tx.create_element("DataFile", "file:///a", {"name": "a"})
    first.close()
    engine = create_engine(normalise_url(repository_url))
    with engine.begin() as connection:  # back to the schema of version 1
        connection.execute(text("ALTER TABLE elements DROP COLUMN curations"))
        connection.execute(text("DELETE FROM schema_version WHERE version > 1"))
    engine.dispose()
    second = open_repository(repository_url)
    try:
        with second.transaction(actor="people/stewards") as tx:
            tx.curate_element(element.guid, {"description": "kept"}, curator="alice")
        with second.transaction(actor=ACTOR) as tx:
            curated = tx.get_element(element.guid)
    finally:
        second.close()
    assert curated.curated_properties == {"description": "kept"}
    assert curated.curations["description"].curator == "alice"


def test_an_aborted_transaction_releases_its_locks_at_once_and_refuses_every_later_call(
    repository: MetadataRepository,
) -> None:
    opened: list[Transaction] = []
    ready, resume = threading.Event(), threading.Event()
    outcome: dict[str, BaseException] = {}

    def hold() -> None:
        try:
            with repository.transaction(actor=ACTOR) as tx:
                tx.create_element("DataFile", "file:///held", {})
                tx.find_elements(type_name="DataFile")  # flushed: the row is written and locked, uncommitted
                opened.append(tx)
                ready.set()
                resume.wait(30)
                try:
                    tx.create_element("DataFile", "file:///late", {})
                except RepositoryError as error:
                    outcome["late write"] = error
        except RepositoryError as error:
            outcome["commit"] = error

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    assert ready.wait(10)

    opened[0].abort()
    began = time.monotonic()
    with repository.transaction(actor=OTHER) as tx:  # would wait for the holder's lock (30 s on SQLite)
        tx.create_element("DataFile", "file:///held", {})
    assert time.monotonic() - began < 10, "the aborted transaction's locks were released at once"

    resume.set()
    holder.join(10)
    assert isinstance(outcome.get("late write"), TransactionAborted)
    assert isinstance(outcome.get("commit"), TransactionAborted)
    with repository.transaction(actor=ACTOR) as tx:
        held = tx.find_element_by_name("file:///held")
        assert held is not None and held.metadata_collection == OTHER
        assert tx.find_element_by_name("file:///late") is None


@pytest.mark.postgres
def test_aborting_a_transaction_blocked_on_a_lock_cancels_its_statement(postgres_database: str) -> None:
    repository = open_repository(postgres_database)
    first_has_written, first_may_end = threading.Event(), threading.Event()
    outcome: dict[str, BaseException] = {}
    opened: list[Transaction] = []

    def first() -> None:
        with repository.transaction(actor=ACTOR) as tx:
            tx.create_element("DataFile", "file:///contended", {})
            tx.find_elements(type_name="DataFile")  # the uncommitted row holds the name's index entry
            first_has_written.set()
            first_may_end.wait(30)

    def second() -> None:
        try:
            with repository.transaction(actor=ACTOR) as tx:
                opened.append(tx)
                tx.create_element("DataFile", "file:///contended", {})
                tx.find_elements(type_name="DataFile")  # waits for the first transaction to end
        except RepositoryError as error:
            outcome["second"] = error

    holder = threading.Thread(target=first, daemon=True)
    holder.start()
    assert first_has_written.wait(10)
    blocked = threading.Thread(target=second, daemon=True)
    blocked.start()
    try:
        wait_for(lambda: bool(opened))
        with psycopg.connect(postgres_database) as admin:  # the second one is waiting for a lock now
            wait_for(lambda: admin.execute(WAITING_ON_A_LOCK).fetchone() is not None)
        opened[0].abort()
        blocked.join(10)
        assert not blocked.is_alive(), "the statement waiting for the lock was cancelled"
        assert isinstance(outcome.get("second"), TransactionAborted)
    finally:
        first_may_end.set()
        holder.join(10)
        repository.close()


WAITING_ON_A_LOCK = "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
