"""Notification mode (b): changes applied from a foreign thread (a third-party library's callback) run in
their own transaction, wait for a running refresh instead of interleaving with it, and are refused once
the connector is disconnected. Real threads, real repositories on both backends."""

from __future__ import annotations

import threading
import time

import pytest

from metaferry_runtime.repository import MetadataRepository
from metaferry_runtime.sdk import ContextDisconnected
from tests.contexts.conftest import SOURCE, ContextFactory


def _callback_thread(target: object) -> tuple[threading.Thread, list[BaseException]]:
    failures: list[BaseException] = []

    def run() -> None:
        try:
            target()  # type: ignore[operator]
        except BaseException as error:  # reported by the test
            failures.append(error)

    return threading.Thread(target=run, daemon=True), failures


def test_a_change_batch_from_another_thread_waits_for_the_running_refresh(
    make_context: ContextFactory, repository: MetadataRepository
) -> None:
    context = make_context("files")
    in_refresh = threading.Event()
    order: list[str] = []

    def callback() -> None:
        in_refresh.wait(10)
        with context.change_batch():
            order.append("callback writes")
            context.upsert_data_file("file:///notified.csv", {"name": "notified.csv"})

    thread, failures = _callback_thread(callback)
    thread.start()
    with context.refresh_batch("r1"):
        context.upsert_data_file("file:///refreshed.csv", {"name": "refreshed.csv"})
        in_refresh.set()
        time.sleep(0.5)  # the callback thread is now waiting for its turn
        order.append("refresh ends")
    thread.join(10)
    assert not failures and not thread.is_alive()
    assert order == ["refresh ends", "callback writes"]
    kinds = [(e.refresh_id, e.element.qualified_name) for e in repository.events_since(0) if e.element]
    assert kinds == [("r1", "file:///refreshed.csv"), (None, "file:///notified.csv")]


def test_a_lone_write_from_another_thread_also_waits_its_turn(make_context: ContextFactory) -> None:
    context = make_context("files")
    in_refresh = threading.Event()
    finished: list[float] = []

    def callback() -> None:
        in_refresh.wait(10)
        context.upsert_data_file("file:///alone.csv", {"name": "alone.csv"})
        finished.append(time.monotonic())

    thread, failures = _callback_thread(callback)
    thread.start()
    with context.refresh_batch("r1"):
        in_refresh.set()
        time.sleep(0.5)
        ended = time.monotonic()
    thread.join(10)
    assert not failures and finished and finished[0] >= ended


def test_a_callback_waiting_for_its_turn_is_refused_when_the_connector_disconnects(
    make_context: ContextFactory, repository: MetadataRepository
) -> None:
    context = make_context("files")
    in_refresh = threading.Event()

    def callback() -> None:
        in_refresh.wait(10)
        with context.change_batch():
            context.upsert_data_file("file:///too-late.csv", {"name": "too-late.csv"})

    thread, failures = _callback_thread(callback)
    thread.start()
    batch = context.refresh_batch("r1")
    batch.__enter__()
    in_refresh.set()
    time.sleep(0.5)
    context.disconnect()  # as the runtime does at shutdown, from another thread than the refresh's
    thread.join(10)
    assert not thread.is_alive()
    assert len(failures) == 1 and isinstance(failures[0], ContextDisconnected)
    with pytest.raises(ContextDisconnected):
        batch.__exit__(None, None, None)
    with repository.transaction(actor=SOURCE) as transaction:
        assert transaction.find_element_by_name("file:///too-late.csv") is None


def test_an_abandoned_refresh_gives_its_turn_to_the_waiting_callback(
    make_context: ContextFactory, repository: MetadataRepository
) -> None:
    context = make_context("files")
    in_refresh = threading.Event()

    def hanging_refresh() -> None:
        with context.refresh_batch("hangs"):
            in_refresh.set()
            time.sleep(3)  # connector code that ignores the abandonment for a while

    refresh, _ = _callback_thread(hanging_refresh)
    refresh.start()
    in_refresh.wait(10)
    writer, failures = _callback_thread(lambda: context.upsert_data_file("file:///after.csv", {"name": "after.csv"}))
    writer.start()
    time.sleep(0.3)
    context.abandon_refresh()  # the runtime's timeout
    writer.join(2)  # long before the abandoned refresh comes back
    assert not writer.is_alive() and not failures
    with repository.transaction(actor=SOURCE) as transaction:
        assert transaction.find_element_by_name("file:///after.csv") is not None
    refresh.join(10)
