"""Out-topic listeners of a context: a connector hears the other sources' writes, not the echoes of its own."""

from __future__ import annotations

from metaferry_runtime.repository import ChangeEvent, ChangeKind
from tests.contexts.conftest import OTHER_SOURCE, SOURCE, ContextFactory
from tests.waiting import wait_for


def _shown(events: list[ChangeEvent]) -> list[tuple[ChangeKind, str | None, str, str | None]]:
    return [
        (e.kind, e.element.qualified_name if e.element else None, e.metadata_collection, e.refresh_id) for e in events
    ]


def test_a_listener_skips_its_own_connectors_writes_and_receives_the_other_sources(
    make_context: ContextFactory,
) -> None:
    mine = make_context("files")
    theirs = make_context("files", source=OTHER_SOURCE)
    received: list[ChangeEvent] = []
    mine.register_listener(received.append)
    with mine.refresh_batch("refresh-1"):
        mine.upsert_data_file("file:///mine/refreshed.csv", {"name": "refreshed.csv"})
    with mine.change_batch():
        mine.create_file_folder("file:///mine/batched", {"name": "batched"})
    mine.create_file_folder("file:///mine/alone", {"name": "alone"})
    theirs.create_file_folder("file:///theirs", {"name": "theirs"})
    # Delivery is in commit order, so once the other source's event is here, ours would have come before it.
    wait_for(lambda: any(e.metadata_collection == OTHER_SOURCE for e in received), what="the other source's event")
    assert _shown(received) == [(ChangeKind.ELEMENT_CREATED, "file:///theirs", OTHER_SOURCE, None)]


def test_a_listener_that_includes_its_own_writes_sees_the_source_and_refresh_of_each(
    make_context: ContextFactory,
) -> None:
    mine = make_context("files")
    received: list[ChangeEvent] = []
    mine.register_listener(received.append, include_own_writes=True)
    with mine.refresh_batch("refresh-7"):
        mine.upsert_data_file("file:///refreshed.csv", {"name": "refreshed.csv"})
    with mine.change_batch():
        mine.create_file_folder("file:///batched", {"name": "batched"})
    mine.create_file_folder("file:///alone", {"name": "alone"})
    wait_for(lambda: len(received) == 3, what="three events")
    assert _shown(received) == [
        (ChangeKind.ELEMENT_CREATED, "file:///refreshed.csv", SOURCE, "refresh-7"),
        (ChangeKind.ELEMENT_CREATED, "file:///batched", SOURCE, None),  # outside a refresh: no refresh made it
        (ChangeKind.ELEMENT_CREATED, "file:///alone", SOURCE, None),
    ]
