"""The shared base of the twelve integration-service contexts: the connector's only door to open metadata.

The context enforces what Egeria's context managers enforce: permitted synchronization (a TO_THIRD_PARTY
connector may not write open metadata), ownership (writes are made as the connector's metadata source, and
the repository refuses changes to elements another source owns), and it stops working at disconnect.
It also makes a refresh one transaction: while the runtime runs `refresh()` inside `refresh_batch()`, every
write the connector makes from that thread joins the refresh's transaction, committed or rolled back whole.
Calls from any other thread (engage, listeners) each run in a short transaction of their own, and every
writer of one context takes its turn: refreshes, change batches and lone writes never interleave.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from metaferry_runtime.audit import AuditLog
from metaferry_runtime.repository import (
    ChangeCounts,
    ChangeEvent,
    FailSafeRefusal,
    MetadataRepository,
    Transaction,
)
from metaferry_runtime.resource.spec import DeletionDetection, PermittedSynchronization
from metaferry_runtime.sdk.errors import ContextDisconnected, SynchronizationNotPermitted
from metaferry_runtime.sdk.targets import CatalogTarget

ContextListener = Callable[[ChangeEvent], None]


@dataclass(frozen=True)
class OutTopicBounds:
    """The oldest event the out topic holds (None: none) and the last committed one (0: none ever)."""

    first: int | None
    head: int

    def holds_after(self, position: int) -> bool:
        """True when every event after `position` is still held: none was pruned, and the repository is the one
        `position` was taken from (a position past the head means it was replaced or reset)."""
        if position > self.head:
            return False
        return self.first is None or position >= self.first - 1


class RefreshAbandoned(ContextDisconnected):
    """The runtime gave up on this refresh (timeout or shutdown); the connector's calls are refused."""


class _Turn:
    """One hold of a context's writing turn (see `IntegrationContext._writing_turn`)."""


#: How often a thread waiting for the writing turn checks that the context is still connected.
TURN_POLL_SECONDS = 0.2


@dataclass
class RefreshBatch:
    """The transaction of one refresh, bound to the thread running it.

    `archive_confirmed`: a user confirmed the archive, so deletion detection in this refresh is not held to
    the fail-safe. `archive_refusals`: what the fail-safe refused in this refresh, for the report; the
    refresh itself commits.
    """

    refresh_id: str
    transaction: Transaction
    abandoned: threading.Event = field(default_factory=threading.Event)
    archive_confirmed: bool = False
    archive_refusals: list[FailSafeRefusal] = field(default_factory=list)


class IntegrationContext:
    """Base for every service context; subclasses add Egeria-named methods for their element types."""

    integration_service: str = "generic"

    def __init__(
        self,
        *,
        repository: MetadataRepository,
        connector_name: str,
        metadata_source_qualified_name: str,
        permitted_synchronization: PermittedSynchronization = PermittedSynchronization.FROM_THIRD_PARTY,
        catalog_targets: Sequence[CatalogTarget | str] | None = None,
        deletion_detection: DeletionDetection | None = None,
        audit_log: AuditLog | None = None,
        listener_port: int | None = None,
    ) -> None:
        self._repository = repository
        self._connector_name = connector_name
        self._metadata_source = metadata_source_qualified_name
        self._permitted_synchronization = permitted_synchronization
        self._catalog_targets = [CatalogTarget.of(target) for target in catalog_targets or ()]
        self._deletion_detection = deletion_detection or DeletionDetection()
        self._listener_port = listener_port
        self._audit_log = audit_log or AuditLog(f"context/{self.integration_service}", connector_name=connector_name)
        self._local = threading.local()
        self._batch_lock = threading.Lock()
        self._current_batch: RefreshBatch | None = None
        self._abandonments = 0  # a refresh still opening its transaction is abandoned if this changed meanwhile
        self._disconnected = threading.Event()
        self._unregister: list[Callable[[], None]] = []
        # One writer at a time: a refresh, a change batch or a lone write, from whatever thread.
        self._turn = threading.Lock()
        self._turn_holder: _Turn | None = None
        self._refresh_turn: _Turn | None = None

    # --- what Egeria's IntegrationContext offers every connector --------------------------------------------
    @property
    def connector_name(self) -> str:
        return self._connector_name

    def get_metadata_source_qualified_name(self) -> str:
        self._check_usable()
        return self._metadata_source

    def get_permitted_synchronization(self) -> PermittedSynchronization:
        self._check_usable()
        return self._permitted_synchronization

    def get_catalog_targets(self, start_from: int = 0, page_size: int = 0) -> list[CatalogTarget]:
        """The resource's catalogTargets in manifest order (all of them when page_size is 0), each with its
        name, its configuration properties and, when the connector declares `catalog_target_model`, those
        properties typed as `configuration`."""
        self._check_usable()
        end = None if page_size <= 0 else start_from + page_size
        return self._catalog_targets[start_from:end]

    def accept_catalog_targets(self, targets: Sequence[CatalogTarget]) -> None:
        """Called by the runtime before set_context with the targets validated against the connector's
        `catalog_target_model`; not for connector code."""
        self._catalog_targets = list(targets)

    def get_listener_port(self) -> int | None:
        """The resource's listenerPort: where a connector that serves third-party clients listens (the
        operator opens it in the pod, the Service and the NetworkPolicy); None when none is declared."""
        self._check_usable()
        return self._listener_port

    @property
    def deletion_detection(self) -> DeletionDetection:
        return self._deletion_detection

    @property
    def audit_log(self) -> AuditLog:
        return self._audit_log

    def is_refresh_in_progress(self) -> bool:
        """True while refresh() runs. Not a way to tell a listener's echoes: events arrive after their
        transaction commits, when this is False again; `register_listener` skips them instead."""
        return self._current_batch is not None

    def register_listener(
        self, listener: ContextListener, *, from_sequence: int | None = None, include_own_writes: bool = False
    ) -> None:
        """Receive committed out-topic events (on a repository thread) until disconnect.

        By default the events of this connector's own writes (those made as its metadata source: refreshes,
        change batches and single calls alike) are skipped, so a listener that mirrors changes to the third
        party does not hear the echoes of what the connector just catalogued from it. Why by the event's
        collection: events arrive after commit, when `is_refresh_in_progress()` can no longer tell. With
        `include_own_writes` every event is delivered; `metadata_collection` and `refresh_id` say which
        source and refresh made each one.
        """
        self._check_usable()
        own_source = self._metadata_source

        def deliver(event: ChangeEvent) -> None:
            if self._disconnected.is_set():
                return
            if include_own_writes or event.metadata_collection != own_source:
                listener(event)

        self._unregister.append(self._repository.register_listener(deliver, from_sequence=from_sequence))

    def get_out_topic_bounds(self) -> OutTopicBounds:
        """How much of the out topic the repository still holds: a listener that keeps a durable position
        compares it with these before resuming (`OutTopicBounds.holds_after`)."""
        self._check_usable()
        return OutTopicBounds(first=self._repository.first_sequence(), head=self._repository.head_sequence())

    # --- used by the runtime --------------------------------------------------------------------------------
    @contextmanager
    def refresh_batch(self, refresh_id: str, *, archive_confirmed: bool = False) -> Iterator[RefreshBatch]:
        """Run a refresh in one transaction on the calling thread; an exception or abandonment rolls it back.
        With `archive_confirmed` its deletion detection may archive past the fail-safe."""
        self._check_usable()
        with self._batch_lock:
            abandonments = self._abandonments
        with (
            self._writing_turn(refresh=True),
            self._repository.transaction(actor=self._metadata_source, refresh_id=refresh_id) as transaction,
        ):
            batch = RefreshBatch(refresh_id=refresh_id, transaction=transaction, archive_confirmed=archive_confirmed)
            with self._batch_lock:
                if self._abandonments != abandonments:  # abandoned while it waited for its turn or the database
                    raise RefreshAbandoned(f"refresh {refresh_id} was abandoned before it began")
                self._current_batch = batch
            self._local.batch = batch
            try:
                yield batch
                if batch.abandoned.is_set():
                    raise RefreshAbandoned(f"refresh {refresh_id} was abandoned; its changes are rolled back")
            finally:
                self._local.batch = None
                with self._batch_lock:
                    if self._current_batch is batch:
                        self._current_batch = None

    def abandon_refresh(self) -> None:
        """Called by the runtime from another thread on timeout or shutdown: refuse the refresh's further calls
        and abort its transaction, so its locks do not block the refreshes that follow."""
        with self._batch_lock:
            self._abandonments += 1
            batch, self._current_batch = self._current_batch, None
            if batch is not None:
                batch.abandoned.set()
            if self._refresh_turn is not None and self._turn_holder is self._refresh_turn:
                # The abandoned thread may never come back: give the turn to the writers waiting for it.
                self._turn_holder = self._refresh_turn = None
                self._turn.release()
        if batch is not None:
            batch.transaction.abort()

    def disconnect(self) -> None:
        """After this every call raises ContextDisconnected, and listeners stop receiving events."""
        self._disconnected.set()
        self.abandon_refresh()
        for unregister in self._unregister:
            unregister()
        self._unregister.clear()

    @property
    def is_disconnected(self) -> bool:
        return self._disconnected.is_set()

    # --- for subclasses -------------------------------------------------------------------------------------
    def _check_usable(self) -> None:
        if self._disconnected.is_set():
            raise ContextDisconnected(f"the context of connector {self._connector_name} is disconnected")
        batch: RefreshBatch | None = getattr(self._local, "batch", None)
        if batch is not None and batch.abandoned.is_set():
            raise RefreshAbandoned(f"refresh {batch.refresh_id} of {self._connector_name} was abandoned")

    def _check_writable(self, action: str) -> None:
        self._check_usable()
        if self._permitted_synchronization is PermittedSynchronization.TO_THIRD_PARTY:
            raise SynchronizationNotPermitted(
                f"{self._connector_name} may not {action}: its permittedSynchronization is TO_THIRD_PARTY,"
                " so open metadata is the source and the connector only reads it"
            )

    @contextmanager
    def _writing_turn(self, *, refresh: bool = False) -> Iterator[None]:
        """Hold the context's writing turn: this connector's refreshes, change batches and lone writes run one
        at a time, whatever thread they come from (the engage thread, a listener, a third-party library's
        callback thread), so their transactions never interleave on either backend. A waiter gives up with
        ContextDisconnected when the context is disconnected; an abandoned refresh gives the turn back."""
        turn = _Turn()
        while not self._turn.acquire(timeout=TURN_POLL_SECONDS):
            self._check_usable()
        with self._batch_lock:
            self._turn_holder = turn
            if refresh:
                self._refresh_turn = turn
        try:
            self._check_usable()
            yield
        finally:
            with self._batch_lock:
                if self._turn_holder is turn:
                    self._turn_holder = None
                    if self._refresh_turn is turn:
                        self._refresh_turn = None
                    self._turn.release()

    @contextmanager
    def change_batch(self) -> Iterator[None]:
        """Make the calls this thread makes inside the block one transaction, committed or rolled back whole.

        For work outside refresh() (engage, listeners, a callback on a third-party library's own thread),
        where each call is otherwise a transaction of its own: applying a burst of third-party changes then
        costs one commit, and a failure half-way leaves nothing half-applied. It waits for a running refresh
        (or another batch) to end first, and raises ContextDisconnected once the connector is disconnected.
        Inside a refresh, or an outer batch, it simply joins that transaction.
        """
        self._check_usable()
        if self._joined_transaction() is not None:
            yield
            return
        with self._writing_turn(), self._repository.transaction(actor=self._metadata_source) as transaction:
            self._local.change_batch = transaction
            try:
                yield
            finally:
                self._local.change_batch = None

    def _joined_transaction(self) -> Transaction | None:
        """The transaction this thread's calls join (the refresh's or a change batch's), if any."""
        batch: RefreshBatch | None = getattr(self._local, "batch", None)
        if batch is not None:
            return batch.transaction
        joined: Transaction | None = getattr(self._local, "change_batch", None)
        return joined

    @contextmanager
    def _transaction(self) -> Iterator[Transaction]:
        """The refresh's (or change batch's) transaction on this thread; otherwise a short one of its own."""
        self._check_usable()
        joined = self._joined_transaction()
        if joined is not None:
            yield joined
            return
        with self._writing_turn(), self._repository.transaction(actor=self._metadata_source) as transaction:
            yield transaction

    def _refresh_batch(self) -> RefreshBatch | None:
        """The refresh this thread runs, if any."""
        batch: RefreshBatch | None = getattr(self._local, "batch", None)
        return batch

    def _counts(self) -> ChangeCounts:
        batch = self._refresh_batch()
        return batch.transaction.counts if batch is not None else ChangeCounts()
