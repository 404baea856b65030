"""The out topic: committed events reach listeners in order, in this process and (PostgreSQL) in others,
across listener restarts and database restarts."""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from metaferry_runtime.repository import (
    ChangeEvent,
    ChangeKind,
    MetadataRepository,
    RepositoryUnavailable,
    open_repository,
)
from tests.postgres_server import LISTENER_PROCESS, PostgresServer, create_database
from tests.repository.conftest import ACTOR
from tests.waiting import wait_for


def _write(repository: MetadataRepository, names: list[str]) -> None:
    with repository.transaction(actor=ACTOR) as tx:
        for name in names:
            tx.upsert_element("DataFile", name, {})


def test_a_listener_receives_committed_events_in_order(repository: MetadataRepository) -> None:
    received: list[ChangeEvent] = []
    unregister = repository.register_listener(received.append)
    _write(repository, ["file:///a", "file:///b"])
    _write(repository, ["file:///c"])
    wait_for(lambda: len(received) == 3, what="three events")
    unregister()
    assert [e.element.qualified_name for e in received if e.element] == ["file:///a", "file:///b", "file:///c"]
    assert [e.sequence for e in received] == sorted(e.sequence for e in received)


def test_a_rolled_back_transaction_publishes_nothing(repository: MetadataRepository) -> None:
    received: list[ChangeEvent] = []
    unregister = repository.register_listener(received.append)
    with pytest.raises(RuntimeError), repository.transaction(actor=ACTOR) as tx:  # noqa: PT012
        tx.upsert_element("DataFile", "file:///never", {})
        raise RuntimeError("refresh failed")
    _write(repository, ["file:///after"])
    wait_for(lambda: len(received) == 1, what="the committed event")
    unregister()
    assert received[0].element is not None
    assert received[0].element.qualified_name == "file:///after"


def test_a_listener_registered_from_a_sequence_replays_what_came_after_it(repository: MetadataRepository) -> None:
    _write(repository, ["file:///1", "file:///2", "file:///3"])
    first = next(iter(repository.events_since(0))).sequence
    received: list[ChangeEvent] = []
    unregister = repository.register_listener(received.append, from_sequence=first)
    _write(repository, ["file:///4"])
    wait_for(lambda: len(received) == 3, what="the replay and the new event")
    unregister()
    assert [e.element.qualified_name for e in received if e.element] == ["file:///2", "file:///3", "file:///4"]


def test_a_failing_listener_does_not_stop_delivery(repository: MetadataRepository) -> None:
    received: list[int] = []

    def flaky(event: ChangeEvent) -> None:
        received.append(event.sequence)
        if len(received) == 1:
            raise ValueError("listener bug")

    unregister = repository.register_listener(flaky)
    _write(repository, ["file:///a"])
    _write(repository, ["file:///b"])
    wait_for(lambda: len(received) == 2, what="delivery after the failure")
    unregister()


def test_unregistered_listeners_receive_nothing_more(repository: MetadataRepository) -> None:
    received: list[ChangeEvent] = []
    unregister = repository.register_listener(received.append)
    _write(repository, ["file:///a"])
    wait_for(lambda: len(received) == 1, what="the first event")
    unregister()
    _write(repository, ["file:///b"])
    other: list[ChangeEvent] = []
    stop_other = repository.register_listener(other.append, from_sequence=0)
    wait_for(lambda: len(other) == 2, what="a second listener to see both")
    stop_other()
    assert len(received) == 1


class ListenerProcess:
    """The listener_process.py child: its printed events, read on a thread into a queue."""

    def __init__(self, url: str, from_sequence: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(LISTENER_PROCESS), url, str(from_sequence)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.events: list[tuple[int, str, str]] = []
        threading.Thread(target=self._read, daemon=True).start()
        assert self.lines.get(timeout=60) == "ready"

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.strip())

    def collect(self, count: int, *, timeout: float = 30.0) -> list[tuple[int, str, str]]:
        deadline = time.monotonic() + timeout
        while len(self.events) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"listener process got {len(self.events)} of {count} events")
            try:
                sequence, kind, name = self.lines.get(timeout=remaining).split(" ", 2)
            except queue.Empty:
                continue
            self.events.append((int(sequence), kind, name))
        return self.events

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)


@pytest.fixture
def listener_processes() -> Iterator[list[ListenerProcess]]:
    started: list[ListenerProcess] = []
    yield started
    for child in started:
        if child.process.poll() is None:
            child.process.kill()
            child.process.wait()


@pytest.mark.postgres
def test_another_process_receives_every_event_in_order_including_those_written_while_it_was_away(
    postgres_database: str, listener_processes: list[ListenerProcess]
) -> None:
    writer = open_repository(postgres_database)
    try:
        first = ListenerProcess(postgres_database, 0)
        listener_processes.append(first)
        _write(writer, [f"file:///a{i}" for i in range(5)])
        _write(writer, [f"file:///b{i}" for i in range(5)])
        seen = first.collect(10)
        first.stop()
        last_seen = seen[-1][0]
        _write(writer, [f"file:///c{i}" for i in range(5)])  # nobody listening now
        second = ListenerProcess(postgres_database, last_seen)
        listener_processes.append(second)
        _write(writer, [f"file:///d{i}" for i in range(5)])
        resumed = second.collect(10)
        second.stop()
    finally:
        writer.close()
    names = [name for _, _, name in seen + resumed]
    assert names == [f"file:///{batch}{i}" for batch in "abcd" for i in range(5)]
    sequences = [sequence for sequence, _, _ in seen + resumed]
    assert sequences == sorted(set(sequences))
    assert {kind for _, kind, _ in seen + resumed} == {ChangeKind.ELEMENT_CREATED.value}


@pytest.mark.postgres
def test_writer_and_listener_recover_after_the_database_restarts(
    private_postgres: PostgresServer, listener_processes: list[ListenerProcess]
) -> None:
    url = create_database(private_postgres.url)
    writer = open_repository(url)
    try:
        listener = ListenerProcess(url, 0)
        listener_processes.append(listener)
        _write(writer, [f"file:///before{i}" for i in range(3)])
        listener.collect(3)
        private_postgres.restart()
        written = 3
        for i in range(3):  # the writer's pooled connections died: it retries as a connector would
            deadline = time.monotonic() + 60
            while True:
                try:
                    _write(writer, [f"file:///after{i}"])
                    written += 1
                    break
                except RepositoryUnavailable:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
        events = listener.collect(written, timeout=60)
        listener.stop()
    finally:
        writer.close()
    assert [name for _, _, name in events] == [f"file:///before{i}" for i in range(3)] + [
        f"file:///after{i}" for i in range(3)
    ]


def test_concurrent_writers_never_make_a_listener_skip_an_event(repository: MetadataRepository) -> None:
    received: list[int] = []
    unregister = repository.register_listener(lambda event: received.append(event.sequence))

    def writer(name: str) -> None:
        for i in range(15):
            _write(repository, [f"file:///{name}/{i}", f"file:///{name}/{i}b"])

    threads = [threading.Thread(target=writer, args=(f"w{n}",)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wait_for(lambda: len(received) == 90, timeout=30, what="all 90 events")
    unregister()
    committed = [event.sequence for event in repository.events_since(0, limit=1000)]
    assert received == committed


def test_pruning_drops_the_oldest_events_but_never_the_last(repository: MetadataRepository) -> None:
    assert (repository.first_sequence(), repository.head_sequence()) == (None, 0)
    assert repository.prune_events(100) == 0  # nothing to prune
    _write(repository, ["file:///p1", "file:///p2", "file:///p3"])
    first, head = repository.first_sequence(), repository.head_sequence()
    assert first is not None and head == first + 2
    assert repository.prune_events(first + 1) == 1
    assert repository.first_sequence() == first + 1
    assert repository.prune_events(head + 10) == 1  # the last event stays: readers still see how far behind they are
    assert repository.first_sequence() == repository.head_sequence() == head
    assert [event.sequence for event in repository.events_since(0)] == [head]
    _write(repository, ["file:///p4"])
    assert repository.head_sequence() > head  # sequences go on after a prune
