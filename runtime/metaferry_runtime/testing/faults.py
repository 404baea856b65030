"""A repository that counts the writes made through it and, when told, fails the writes after the Nth.

The connector and its context stay the real ones (a connector may check its context's type); only the
repository under the context is wrapped, so every write a connector makes, from any thread and through any
context method, is seen here. A refresh that is one transaction leaves nothing behind when a write fails
half-way; one that writes from another thread, or swallows the failure and commits, leaves something.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, cast

from metaferry_runtime.repository import ChangeEvent, EventListener, MetadataRepository, Transaction

#: The Transaction methods that change the repository.
WRITE_METHODS = frozenset(
    {
        "create_element",
        "upsert_element",
        "upsert_elements",
        "update_element",
        "curate_element",
        "archive_element",
        "restore_element",
        "delete_element",
        "classify_element",
        "declassify_element",
        "publish_element",
        "withdraw_element",
        "archive_unobserved",
        "create_relationship",
        "upsert_relationship",
        "upsert_relationships",
        "update_relationship",
        "delete_relationship",
    }
)


class InjectedFailure(Exception):
    """The failure the test kit injects into a write, standing for a database that fails mid-refresh."""


class CountingRepository(MetadataRepository):
    """`inner`, with every write counted in `writes`; writes after the `fail_after`th raise InjectedFailure."""

    def __init__(self, inner: MetadataRepository, *, fail_after: int | None = None) -> None:
        self.inner = inner
        self.url = inner.url
        self.fail_after = fail_after
        self.writes = 0
        self.injected = 0
        self._lock = threading.Lock()

    def transaction(self, *, actor: str, refresh_id: str | None = None) -> AbstractContextManager[Transaction]:
        return self._transaction(actor=actor, refresh_id=refresh_id)

    @contextmanager
    def _transaction(self, *, actor: str, refresh_id: str | None) -> Iterator[Transaction]:
        with self.inner.transaction(actor=actor, refresh_id=refresh_id) as transaction:
            yield cast(Transaction, _CountingTransaction(transaction, self))

    def reader(self) -> AbstractContextManager[Transaction]:
        """Reads write nothing, so there is nothing to count."""
        return self.inner.reader()

    def count_write(self, method: str) -> None:
        with self._lock:
            if self.fail_after is not None and self.writes >= self.fail_after:
                self.injected += 1
                raise InjectedFailure(f"injected by the test kit: {method} after {self.writes} writes")
            self.writes += 1

    def register_listener(self, listener: EventListener, *, from_sequence: int | None = None) -> Callable[[], None]:
        return self.inner.register_listener(listener, from_sequence=from_sequence)

    def events_since(self, sequence: int, *, limit: int = 1000) -> Iterator[ChangeEvent]:
        return self.inner.events_since(sequence, limit=limit)

    def head_sequence(self) -> int:
        return self.inner.head_sequence()

    def first_sequence(self) -> int | None:
        return self.inner.first_sequence()

    def prune_events(self, before_sequence: int) -> int:
        return self.inner.prune_events(before_sequence)

    def close(self) -> None:
        """The inner repository belongs to whoever opened it."""


class _CountingTransaction:
    def __init__(self, inner: Transaction, counter: CountingRepository) -> None:
        self._inner = inner
        self._counter = counter

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if name not in WRITE_METHODS:
            return attribute

        def write(*args: Any, **kwargs: Any) -> Any:
            self._counter.count_write(name)
            return attribute(*args, **kwargs)

        return write
