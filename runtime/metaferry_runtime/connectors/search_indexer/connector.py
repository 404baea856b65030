"""The `search-indexer` connector: a full-text index (Tantivy) of every element in the repository.

An out-topic listener of the search service: every connector's elements, not only its own, are indexed
(qualified name, display name, description, type with its supertypes, metadata collection, guid, other
properties; see `metaferry_runtime.sdk.search.documents`). The index lives in the directory named by
`spec.connection.endpoint` (a PersistentVolume in the cluster) and holds, in the same commit as the
changes, the sequence of the last out-topic event it covers (`search.index` says why that makes a crash
harmless).

How: start() opens the index and starts an indexing thread of the connector's own. It reads the cursor and
asks the repository how much of the out topic it still holds: when every event after the cursor is there
it subscribes from the cursor and so catches up from where it stopped; when some were pruned (or the
repository is another one) it first rebuilds the index from the repository's elements, then subscribes
from the head it noted before reading them. Events gather in a bounded queue (`feed.py`) and each burst,
folded into one change per guid, becomes one Tantivy commit: archived and deleted elements leave the index,
anything else replaces the guid's document, so applying an event twice changes nothing. A failed commit is
rolled back and tried again with capped backoff; refresh() reports how far the index is behind and fails
while indexing does, so the resource's status shows it.

Queries: `GET /search?q=TEXT&type=TYPE&limit=N` on the runtime's HTTP API (`api_routes`), and
`metaferry-runtime search TEXT --index DIR` without a runtime.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path

from metaferry_runtime.connectors.search_indexer.feed import EventFeed, fold
from metaferry_runtime.connectors.search_indexer.settings import SearchIndexerSettings
from metaferry_runtime.sdk import (
    ApiError,
    ApiRequest,
    ApiResponse,
    ApiRoute,
    ChangeEvent,
    ConnectorConfigurationError,
    ConnectorError,
    ContextDisconnected,
    Diagnosis,
    IntegrationConnector,
    MessageCatalogue,
    Severity,
    numbered,
)
from metaferry_runtime.sdk.contexts.search import SearchIntegratorContext
from metaferry_runtime.sdk.search import SearchIndex, SearchIndexError, catching_up, index_directory

logger = logging.getLogger(__name__)

#: Seconds before a failed commit is tried again, doubling up to the cap.
RETRY_FIRST, RETRY_CAP = 0.5, 30.0
#: Seconds the indexing thread waits for an event before it looks at whether it should stop.
IDLE_WAIT = 0.5
#: Seconds disconnect() waits for the indexing thread to finish its commit.
STOP_WAIT = 30.0
#: Results of one query, by default and at most.
DEFAULT_LIMIT, MAX_LIMIT = 10, 100
SEARCH_PATH = "/search"


class SearchIndexerMessages(MessageCatalogue):
    prefix = "METAFERRY-SEARCH-INDEXER"

    STARTED = numbered(
        1,
        Severity.STARTUP,
        "Connector {connector_name} indexes open metadata in {directory}, from out-topic event {cursor}",
        "Every element of the repository is indexed; the index is queried at GET /search.",
        "No action is required.",
    )
    REBUILT = numbered(
        2,
        Severity.INFO,
        "Connector {connector_name} rebuilt the search index from the repository's {count} elements: {reason}",
        "The index now covers every event up to {cursor}; it follows the out topic from there.",
        "No action is required.",
    )
    INDEXING_FAILED = numbered(
        3,
        Severity.ERROR,
        "Connector {connector_name} could not update the search index in {directory}: {error}",
        "Searches answer from the last commit until this succeeds; no event is skipped.",
        "Check the index directory (space, permissions); the commit is tried again in {retry} seconds.",
    )
    STATUS = numbered(
        4,
        Severity.INFO,
        "Connector {connector_name} has {count} elements indexed, up to out-topic event {cursor} of {head}",
        "The index follows the out topic between refreshes; a refresh only reports.",
        "No action is required.",
    )


def _describe(error: BaseException) -> str:
    return str(error) or type(error).__name__


class SearchIndexerConnector(IntegrationConnector[SearchIntegratorContext]):
    """Keeps a full-text index (Tantivy) of every element in the repository; GET /search queries it."""

    integration_service = "search"
    configuration_model = SearchIndexerSettings

    def __init__(self) -> None:
        super().__init__()
        self._settings = SearchIndexerSettings()
        self._index: SearchIndex | None = None
        self._feed: EventFeed | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._listening = False
        self._cursor = 0  # the last event the committed index covers (written by the indexing thread)
        self._failure: str | None = None  # the indexing thread's last error, while it fails
        self.rebuilds = 0

    # --- lifecycle --------------------------------------------------------------------------------------------
    def start(self) -> None:
        self._settings = self.configuration
        directory = self._directory()
        try:
            self._index = SearchIndex(
                directory,
                writable=True,
                heap_bytes=self._settings.writer_heap_megabytes * 1_000_000,
                threads=self._settings.indexing_threads,
            )
        except SearchIndexError as error:
            raise ConnectorError(str(error)) from None
        self._cursor = self._index.cursor() or 0
        self._stopping.clear()
        self._feed = EventFeed(capacity=2 * self._settings.events_per_commit, stopping=self._stopping)
        self._thread = threading.Thread(target=self._run, name=f"search-indexer-{self.connector_name}", daemon=True)
        self._thread.start()
        self.audit_log.log_message(
            "start",
            SearchIndexerMessages.STARTED,
            connector_name=self.connector_name,
            directory=str(self._index.path),
            cursor=self._cursor,
        )

    def refresh(self) -> None:
        """Report how far the index is behind; fail while indexing fails or after its thread ended."""
        index = self.index
        if self._failure is not None:
            raise ConnectorError(f"the search index is not being updated: {self._failure}")
        if self._thread is None or not self._thread.is_alive():
            raise ConnectorError("the search indexer's thread has stopped")
        self.audit_log.log_message(
            "refresh",
            SearchIndexerMessages.STATUS,
            connector_name=self.connector_name,
            count=index.count(),
            cursor=self._cursor,
            head=self.context.get_out_topic_bounds().head,
        )

    def disconnect(self) -> None:
        self._stopping.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(STOP_WAIT)
            if thread.is_alive():
                logger.warning("the search indexer's thread did not stop within %.0fs", STOP_WAIT)
                return  # it still holds the writer: leave the index to it
        index, self._index = self._index, None
        if index is not None:
            index.close()

    def diagnose(self) -> list[Diagnosis]:
        """The index directory, what the index holds now, and whether it would catch up or be rebuilt."""
        self._settings = self.configuration
        try:
            directory = self._directory()
        except ConnectorConfigurationError as error:
            return [Diagnosis("endpoint", False, str(error))]
        path = index_directory(directory)
        existing = next((p for p in (path, *path.parents) if p.exists()), None)
        if existing is None or not os.access(existing, os.W_OK):
            return [Diagnosis("index directory", False, f"{path} cannot be written ({existing} is not writable)")]
        steps = [Diagnosis("index directory", True, str(path))]
        cursor = 0
        if path.exists() and any(path.iterdir()):
            try:
                index = SearchIndex(directory, writable=False)
                cursor = index.cursor() or 0
                steps.append(Diagnosis("index", True, f"{index.count()} elements, up to out-topic event {cursor}"))
            except SearchIndexError as error:
                return [*steps, Diagnosis("index", False, str(error))]
        else:
            steps.append(Diagnosis("index", True, "new: the first start builds it"))
        bounds = self.context.get_out_topic_bounds()
        if bounds.holds_after(cursor):
            plan = f"would catch up on {bounds.head - cursor} out-topic events"
        else:
            plan = f"would rebuild from the repository (the out topic holds events {bounds.first} to {bounds.head})"
        steps.append(Diagnosis("out topic", True, plan))
        return steps

    def api_routes(self) -> Sequence[ApiRoute]:
        return [ApiRoute("GET", SEARCH_PATH, self._search, requires_token=self._settings.require_token)]

    # --- the indexing thread ----------------------------------------------------------------------------------
    def _run(self) -> None:
        with contextlib.ExitStack() as backlog:
            self._index_until_stopped(backlog)

    def _index_until_stopped(self, backlog: contextlib.ExitStack) -> None:
        """While it catches up (each batch full) the garbage collector runs less often, as during a refresh:
        decoding a backlog of events allocates hundreds of thousands of objects that reference counting frees."""
        retry = RETRY_FIRST
        pending: list[ChangeEvent] = []  # a batch whose commit failed: tried again before anything else
        while not self._stopping.is_set():
            try:
                if not self._listening:
                    backlog.enter_context(catching_up())
                    self._subscribe()
                if not pending:
                    pending = self.feed.take(
                        limit=self._settings.events_per_commit, wait=IDLE_WAIT, gather=self._settings.gather_seconds
                    )
                    if len(pending) < self._settings.events_per_commit:
                        backlog.close()  # caught up: collections as usual
                if pending:
                    self._index_batch(pending)
                    pending = []
                self._failure = None
                retry = RETRY_FIRST
            except ContextDisconnected:
                return
            except Exception as error:  # a full disk, a repository that cannot be read: retried from the cursor
                if self._stopping.is_set():
                    return
                self._failure = _describe(error)
                self.audit_log.log_message(
                    "index",
                    SearchIndexerMessages.INDEXING_FAILED,
                    connector_name=self.connector_name,
                    directory=str(self.index.path),
                    error=self._failure,
                    retry=retry,
                )
                if self._stopping.wait(retry):
                    return
                retry = min(retry * 2, RETRY_CAP)

    def _subscribe(self) -> None:
        """Rebuild when the out topic no longer holds every event after the cursor, then follow it from there."""
        self._cursor = self.index.cursor() or 0
        bounds = self.context.get_out_topic_bounds()
        if not bounds.holds_after(self._cursor):
            if self._cursor > bounds.head:
                reason = f"the index is at event {self._cursor}, past the repository's last event {bounds.head}"
            else:
                reason = f"events after {self._cursor} are no longer in the out topic (it starts at {bounds.first})"
            self._cursor = self._rebuild(reason)
        self.context.register_listener(self.feed.deliver, from_sequence=self._cursor, include_own_writes=True)
        self._listening = True

    def _index_batch(self, events: Sequence[ChangeEvent]) -> None:
        """One commit for a burst of events; a rebuild first if events were pruned before they arrived."""
        if events[0].sequence > self._cursor + 1 and not self.context.get_out_topic_bounds().holds_after(self._cursor):
            self._cursor = self._rebuild(f"events after {self._cursor} were pruned before they were indexed")
        last = events[-1].sequence
        if last <= self._cursor:
            return
        changes = fold(events, after=self._cursor)
        self.index.apply(changes, cursor=last, supertypes=self.context.supertypes)
        self._cursor = last
        self._committed(last)

    def _rebuild(self, reason: str) -> int:
        """Index every element anew; returns the head noted before reading them, which the index now covers."""
        head = self.context.get_out_topic_bounds().head
        pages = self.context.iterate_elements(page_size=self._settings.rebuild_page_size)
        count = self.index.rebuild(pages, cursor=head, supertypes=self.context.supertypes)
        self.rebuilds += 1
        self.audit_log.log_message(
            "rebuild",
            SearchIndexerMessages.REBUILT,
            connector_name=self.connector_name,
            count=count,
            reason=reason,
            cursor=head,
        )
        return head

    def _committed(self, cursor: int) -> None:
        """Called after each commit of out-topic events, on the indexing thread (a point to inject faults at)."""

    # --- queries ----------------------------------------------------------------------------------------------
    def _search(self, request: ApiRequest) -> ApiResponse:
        text = request.query.get("q", "").strip()
        if not text:
            raise ApiError(400, "q is required: the text to search for")
        try:
            limit = int(request.query.get("limit", DEFAULT_LIMIT))
        except ValueError:
            raise ApiError(400, f"limit must be a whole number from 1 to {MAX_LIMIT}") from None
        if not 1 <= limit <= MAX_LIMIT:
            raise ApiError(400, f"limit must be a whole number from 1 to {MAX_LIMIT}")
        results = self.index.search(text, type_name=request.query.get("type") or None, limit=limit)
        return ApiResponse({**results.to_wire(), "indexedThrough": self._cursor})

    # --- helpers ----------------------------------------------------------------------------------------------
    @property
    def index(self) -> SearchIndex:
        if self._index is None:
            raise ConnectorError("search-indexer is not started, or it was disconnected")
        return self._index

    @property
    def feed(self) -> EventFeed:
        if self._feed is None:
            raise ConnectorError("search-indexer is not started, or it was disconnected")
        return self._feed

    @property
    def indexed_through(self) -> int:
        """The last out-topic event the committed index covers."""
        return self._cursor

    def _directory(self) -> Path:
        endpoint = self.connection.endpoint
        if not endpoint:
            raise ConnectorConfigurationError(
                "search-indexer needs spec.connection.endpoint: the directory of the index (a PersistentVolume's"
                " mount path in the cluster)"
            )
        return Path(endpoint).expanduser().absolute()
