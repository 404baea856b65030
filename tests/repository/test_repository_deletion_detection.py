"""Deletion detection: archive what a refresh did not see, never more than the fail-safe allows."""

from __future__ import annotations

import pytest

from metaferry_runtime.repository import DeletionFailSafe, InstanceStatus, MetadataRepository
from tests.repository.conftest import ACTOR, OTHER


def _catalogue(repository: MetadataRepository, count: int, prefix: str = "file:///lake/") -> None:
    with repository.transaction(actor=ACTOR, refresh_id="r0") as tx:
        for i in range(count):
            tx.upsert_element("CSVFile", f"{prefix}{i}.csv", {})


def test_elements_the_refresh_did_not_observe_are_archived(repository: MetadataRepository) -> None:
    _catalogue(repository, 10)
    with repository.transaction(actor=OTHER) as tx:
        tx.create_element("DataFile", "file:///lake/theirs.csv", {})
    with repository.transaction(actor=ACTOR, refresh_id="r1") as tx:
        for i in range(8):
            tx.upsert_element("CSVFile", f"file:///lake/{i}.csv", {})
        archived = tx.archive_unobserved(type_names=["DataFile"])
        counts = tx.counts
    assert sorted(e.qualified_name for e in archived) == ["file:///lake/8.csv", "file:///lake/9.csv"]
    assert all(e.status is InstanceStatus.ARCHIVED for e in archived)
    assert (counts.archived, counts.unchanged) == (2, 8)
    with repository.transaction(actor=ACTOR) as tx:
        assert tx.find_element_by_name("file:///lake/theirs.csv") is not None  # not ours: never archived
        assert len(tx.find_elements(type_name="DataFile", metadata_collection=ACTOR)) == 8


def test_the_fail_safe_refuses_to_archive_too_large_a_share(repository: MetadataRepository) -> None:
    _catalogue(repository, 10)
    refused = r"would archive 7 of the 10 .* more than the fail-safe allows \(50%\)"
    with (  # noqa: PT012 - the unit under test is the whole refresh transaction
        pytest.raises(DeletionFailSafe, match=refused),
        repository.transaction(actor=ACTOR, refresh_id="r1") as tx,
    ):
        for i in range(3):
            tx.upsert_element("CSVFile", f"file:///lake/{i}.csv", {})
        tx.archive_unobserved(type_names=["DataFile"], max_archive_percent=50)
    with repository.transaction(actor=ACTOR) as tx:
        assert len(tx.find_elements(type_name="DataFile")) == 10


def test_a_dry_run_shows_what_would_go_and_archives_nothing(repository: MetadataRepository) -> None:
    _catalogue(repository, 4)
    with repository.transaction(actor=ACTOR, refresh_id="r1") as tx:
        for i in range(3):
            tx.upsert_element("CSVFile", f"file:///lake/{i}.csv", {})
        would = tx.archive_unobserved(type_names=["CSVFile"], dry_run=True)
        assert tx.counts.would_archive == 1
        assert tx.counts.archived == 0
    assert [e.qualified_name for e in would] == ["file:///lake/3.csv"]
    with repository.transaction(actor=ACTOR) as tx:
        assert tx.find_element_by_name("file:///lake/3.csv") is not None


def test_the_scope_prefix_limits_what_may_be_archived(repository: MetadataRepository) -> None:
    _catalogue(repository, 3, prefix="file:///lake/")
    _catalogue(repository, 3, prefix="file:///other/")
    with repository.transaction(actor=ACTOR, refresh_id="r1") as tx:
        tx.upsert_element("CSVFile", "file:///lake/0.csv", {})
        gone = tx.archive_unobserved(type_names=["DataFile"], scope_prefix="file:///lake/", max_archive_percent=100)
    assert sorted(e.qualified_name for e in gone) == ["file:///lake/1.csv", "file:///lake/2.csv"]
    with repository.transaction(actor=ACTOR) as tx:
        assert len(tx.find_elements(search_string="file:///other/")) == 3


def test_mark_observed_keeps_an_element_from_deletion_detection(repository: MetadataRepository) -> None:
    _catalogue(repository, 2)
    with repository.transaction(actor=ACTOR) as tx:
        kept = tx.find_element_by_name("file:///lake/1.csv")
        assert kept is not None
    with repository.transaction(actor=ACTOR, refresh_id="r1") as tx:
        tx.upsert_element("CSVFile", "file:///lake/0.csv", {})
        tx.mark_observed(kept.guid)
        assert tx.archive_unobserved(type_names=["DataFile"]) == []


def test_elements_marked_observed_by_name_are_not_archived_and_unknown_names_are_returned(
    repository: MetadataRepository,
) -> None:
    _catalogue(repository, 10)
    with repository.transaction(actor=OTHER) as tx:
        tx.create_element("DataFile", "file:///lake/theirs.csv", {})
    with repository.transaction(actor=ACTOR, refresh_id="r1") as tx:
        missing = tx.mark_observed_by_names(
            [*(f"file:///lake/{i}.csv" for i in range(7)), "file:///lake/theirs.csv", "file:///lake/never.csv"]
        )
        archived = tx.archive_unobserved(type_names=["DataFile"])
        counts = tx.counts
    assert missing == ["file:///lake/theirs.csv", "file:///lake/never.csv"]  # not ours, and not there
    assert sorted(e.qualified_name for e in archived) == [f"file:///lake/{i}.csv" for i in (7, 8, 9)]
    assert (counts.created, counts.updated) == (0, 0)


def test_an_archived_element_marked_observed_by_name_is_reported_missing(repository: MetadataRepository) -> None:
    _catalogue(repository, 4)
    with repository.transaction(actor=ACTOR, refresh_id="r1") as tx:
        tx.mark_observed_by_names([f"file:///lake/{i}.csv" for i in range(3)])
        tx.archive_unobserved(type_names=["DataFile"])
    with repository.transaction(actor=ACTOR, refresh_id="r2") as tx:
        assert tx.mark_observed_by_names(["file:///lake/2.csv", "file:///lake/3.csv"]) == ["file:///lake/3.csv"]
