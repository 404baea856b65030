"""What every context enforces: permitted synchronization, ownership, disconnect, one transaction per refresh."""

from __future__ import annotations

from typing import Any

import pytest

from metaferry_runtime.repository import ChangeKind, NotOwner
from metaferry_runtime.resource.spec import DeletionDetection, PermittedSynchronization
from metaferry_runtime.sdk.contexts import CONTEXT_CLASSES
from metaferry_runtime.sdk.errors import ContextDisconnected, SynchronizationNotPermitted
from tests.contexts.conftest import OTHER_SOURCE, ContextFactory


def _operations(service: str) -> list[str]:
    """Every Egeria-named operation a context class declares (bound operations and methods)."""
    context_class = CONTEXT_CLASSES[service]
    return sorted(
        name
        for name in dir(context_class)
        if not name.startswith("_")
        and name.split("_")[0]
        in {"create", "upsert", "update", "publish", "withdraw", "remove", "find", "get", "add", "setup", "set"}
    )


@pytest.mark.parametrize("service", sorted(CONTEXT_CLASSES))
def test_a_disconnected_context_refuses_every_call(make_context: ContextFactory, service: str) -> None:
    context = make_context(service)
    context.disconnect()
    operations = _operations(service)
    assert operations, f"{service} declares no operations"
    for name in operations:
        with pytest.raises(ContextDisconnected):
            _call_with_dummies(getattr(context, name))
    with pytest.raises(ContextDisconnected):
        context.get_catalog_targets()


def _call_with_dummies(operation: Any) -> None:
    """Call with placeholder arguments: a disconnected context must refuse before looking at them."""
    import inspect

    try:
        signature = inspect.signature(operation)
    except (TypeError, ValueError):
        operation("x", "y")
        return
    args = ["x" for p in signature.parameters.values() if p.default is p.empty and p.kind is p.POSITIONAL_OR_KEYWORD]
    kwargs = {p.name: "x" for p in signature.parameters.values() if p.default is p.empty and p.kind is p.KEYWORD_ONLY}
    operation(*args, **kwargs)


@pytest.mark.parametrize("service", sorted(set(CONTEXT_CLASSES) - {"search"}))
def test_a_to_third_party_connector_may_read_but_not_write(make_context: ContextFactory, service: str) -> None:
    context = make_context(service, sync=PermittedSynchronization.TO_THIRD_PARTY)
    writes = [name for name in _operations(service) if name.split("_")[0] in {"create", "upsert", "update", "remove"}]
    assert writes
    for name in writes:
        with pytest.raises(SynchronizationNotPermitted, match="TO_THIRD_PARTY"):
            _call_with_dummies(getattr(context, name))
    finds = [name for name in _operations(service) if name.startswith("find_")]
    for name in finds:
        assert getattr(context, name)() == []


def test_the_search_context_refuses_writes_even_when_both_directions_are_permitted(
    make_context: ContextFactory,
) -> None:
    files = make_context("files")
    guid = files.create_data_file("file:///data/a.csv", {"name": "a.csv"}, type_name="CSVFile")
    search = make_context("search", sync=PermittedSynchronization.BOTH_DIRECTIONS)
    assert [e.guid for e in search.find_elements("a.csv")] == [guid]
    assert search.get_element_by_guid(guid).type_name == "CSVFile"
    assert [e.guid for e in search.find_elements_of_type("DataFile")] == [guid]
    assert search.find_elements_of_type("Topic") == []
    with pytest.raises(SynchronizationNotPermitted, match="only reads"):
        search.mark_observed(guid)


def test_a_connector_cannot_change_or_remove_what_another_source_owns(make_context: ContextFactory) -> None:
    theirs = make_context("files", source=OTHER_SOURCE)
    guid = theirs.create_data_file("file:///shared/a.csv", {"name": "a.csv"})
    mine = make_context("files")
    assert mine.get_data_file_by_guid(guid).properties["name"] == "a.csv"
    with pytest.raises(NotOwner):
        mine.update_data_file(guid, {"description": "mine now"})
    with pytest.raises(NotOwner):
        mine.remove_data_file(guid)
    with pytest.raises(NotOwner):
        mine.upsert_data_file("file:///shared/a.csv", {"name": "a.csv"})


def test_a_connector_cannot_classify_or_declassify_what_another_source_owns(make_context: ContextFactory) -> None:
    theirs = make_context("security", source=OTHER_SOURCE)
    group = theirs.create_security_group("group:admins", {"name": "admins"})
    theirs.add_security_tags(group, {"securityLabels": ["restricted"]})
    mine = make_context("security")
    for attempt in (
        lambda: mine.add_security_tags(group, {"securityLabels": ["public"]}),
        lambda: mine.clear_security_tags(group),
        lambda: mine.set_confidentiality(group, {"level": 0}),
    ):
        with pytest.raises(NotOwner, match=f"owned by metadata collection {OTHER_SOURCE}"):
            attempt()
    stored = mine.get_security_group_by_guid(group)
    assert [(c.name, c.properties) for c in stored.classifications] == [
        ("SecurityTags", {"securityLabels": ["restricted"]})
    ]
    assert theirs.clear_security_tags(group).classifications == []  # the owner still may


def test_a_to_third_party_connector_may_not_classify_or_declassify(make_context: ContextFactory) -> None:
    owner = make_context("database")
    column = owner.create_database_column("pg://h/db.s.t.id", {"name": "id"})
    reader = make_context("database", sync=PermittedSynchronization.TO_THIRD_PARTY)
    with pytest.raises(SynchronizationNotPermitted, match="TO_THIRD_PARTY"):
        reader.set_primary_key_on_column(column, {"name": "pk"})
    with pytest.raises(SynchronizationNotPermitted, match="TO_THIRD_PARTY"):
        reader.remove_primary_key_from_column(column)
    assert owner.get_database_column_by_guid(column).classifications == []


def test_a_refresh_batch_that_raises_rolls_back_every_write(make_context: ContextFactory) -> None:
    files = make_context("files")
    kept = files.create_file_folder("file:///kept", {"name": "kept"})

    def failing_refresh() -> None:
        with files.refresh_batch("refresh-1"):
            folder = files.create_file_folder("file:///data", {"name": "data"})
            data_file = files.create_data_file("file:///data/a.csv", {"name": "a.csv"})
            files.add_data_file_to_folder(folder, data_file)
            files.update_file_folder(kept, {"description": "changed"})
            raise RuntimeError("third party went away")

    with pytest.raises(RuntimeError, match="third party went away"):
        failing_refresh()
    assert files.get_folder_by_qualified_name("file:///data") is None
    assert files.get_data_file_by_qualified_name("file:///data/a.csv") is None
    assert "description" not in files.get_file_folder_by_guid(kept).properties


def test_writes_in_a_refresh_batch_are_one_transaction_with_counts(make_context: ContextFactory) -> None:
    files = make_context("files")
    with files.refresh_batch("refresh-1") as batch:
        files.upsert_data_file("file:///a.csv", {"name": "a.csv"})
        assert files.is_refresh_in_progress()
    assert batch.transaction.counts.created == 1
    with files.refresh_batch("refresh-2") as batch:
        _, change = files.upsert_data_file("file:///a.csv", {"name": "a.csv"})
    assert change is ChangeKind.UNCHANGED
    assert not files.is_refresh_in_progress()


def test_a_change_batch_outside_a_refresh_commits_or_rolls_back_whole(make_context: ContextFactory) -> None:
    files = make_context("files")

    def failing_batch() -> None:
        with files.change_batch():
            files.create_file_folder("file:///half", {"name": "half"})
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        failing_batch()
    assert files.get_folder_by_qualified_name("file:///half") is None
    with files.change_batch():
        files.create_file_folder("file:///whole", {"name": "whole"})
    assert files.get_folder_by_qualified_name("file:///whole") is not None


@pytest.mark.parametrize(
    ("settings", "archived", "left"),
    [
        (DeletionDetection(), 1, 2),
        (DeletionDetection(dry_run=True), 1, 3),
        (DeletionDetection(enabled=False), 0, 3),
    ],
    ids=["archives", "dry-run", "disabled"],
)
def test_deletion_detection_follows_the_resource_settings(
    make_context: ContextFactory, settings: DeletionDetection, archived: int, left: int
) -> None:
    files = make_context("files", deletion=settings)
    with files.refresh_batch("r1"):
        for name in ("a", "b", "c"):
            files.upsert_data_file(f"file:///root/{name}.csv", {"name": name})
    with files.refresh_batch("r2"):
        files.upsert_data_file("file:///root/a.csv", {"name": "a"})
        files.upsert_data_file("file:///root/b.csv", {"name": "b"})
        assert len(files.detect_deleted_files("/root")) == archived
    assert len(files.get_my_data_files()) == left


def test_deletion_detection_refuses_to_archive_more_than_the_fail_safe_allows(make_context: ContextFactory) -> None:
    files = make_context("files", deletion=DeletionDetection(max_archive_percent=50))
    with files.refresh_batch("r1"):
        for name in ("a", "b", "c"):
            files.upsert_data_file(f"file:///root/{name}.csv", {"name": name})
    with files.refresh_batch("r2") as batch:
        assert files.detect_deleted_files("/root") == []
    [refusal] = batch.archive_refusals
    assert (refusal.would_archive, refusal.in_scope, refusal.max_archive_percent) == (3, 3, 50)
    assert len(files.get_my_data_files()) == 3


def test_the_fail_safe_refuses_only_the_archive_and_the_refresh_commits_the_rest(
    make_context: ContextFactory,
) -> None:
    files = make_context("files", deletion=DeletionDetection(max_archive_percent=50))
    with files.refresh_batch("r1"):
        for name in ("a", "b", "c", "d"):
            files.upsert_data_file(f"file:///root/{name}.csv", {"name": name})
    with files.refresh_batch("r2") as batch:
        files.upsert_data_file("file:///root/a.csv", {"name": "a", "description": "changed"})
        files.upsert_data_file("file:///root/e.csv", {"name": "e"})
        assert files.detect_deleted_files("/root") == []
        counts = batch.transaction.counts.model_copy()
    assert (counts.created, counts.updated, counts.archived) == (1, 1, 0)
    assert [(r.would_archive, r.in_scope) for r in batch.archive_refusals] == [(3, 5)]
    mine = {element.qualified_name: element for element in files.get_my_data_files()}
    assert sorted(mine) == [f"file:///root/{name}.csv" for name in "abcde"], "created, and nothing archived"
    assert mine["file:///root/a.csv"].properties["description"] == "changed"


def test_a_confirmed_refresh_archives_despite_the_fail_safe_once(make_context: ContextFactory) -> None:
    files = make_context("files", deletion=DeletionDetection(max_archive_percent=50))
    with files.refresh_batch("r1"):
        for name in ("a", "b", "c", "d"):
            files.upsert_data_file(f"file:///root/{name}.csv", {"name": name})
    with files.refresh_batch("r2", archive_confirmed=True) as batch:
        files.upsert_data_file("file:///root/a.csv", {"name": "a"})
        assert len(files.detect_deleted_files("/root")) == 3
    assert batch.archive_refusals == []
    assert [e.qualified_name for e in files.get_my_data_files()] == ["file:///root/a.csv"]
    with files.refresh_batch("r3") as batch:
        files.upsert_data_file("file:///root/x.csv", {"name": "x"})
        files.upsert_data_file("file:///root/y.csv", {"name": "y"})
        files.upsert_data_file("file:///root/z.csv", {"name": "z"})
    with files.refresh_batch("r4") as batch:
        assert files.detect_deleted_files("/root") == [], "the next refresh is held to the fail-safe again"
    assert len(batch.archive_refusals) == 1
