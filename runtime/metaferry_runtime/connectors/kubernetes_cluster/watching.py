"""Blocking mode: one watch per resource keeps the snapshot current, and engage() writes each burst of changes.

Why a thread per resource: the API server streams one resource per watch request, and the connector reads
eleven. The threads only read the API and queue what they saw; only the engage thread writes, in a change
batch (one transaction per burst), so the SDK's rule that a refresh's helpers never write holds.

Each watch asks for bookmarks (`allowWatchBookmarks`), so its resourceVersion stays recent even when its
resource is quiet. A watch that ends (its timeout, a dropped connection, an API server restart) is opened
again from that resourceVersion, without listing again; only when the API server answers 410 Gone (it no
longer holds that history) is the resource listed afresh, which replaces its objects in the snapshot so
nothing deleted meanwhile is kept.
"""

from __future__ import annotations

import dataclasses
import json
import queue
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kubernetes.client.exceptions import ApiException

from metaferry_runtime.connectors.kubernetes_cluster import client as kube
from metaferry_runtime.connectors.kubernetes_cluster.catalog import archive_missing, write_catalogue
from metaferry_runtime.connectors.kubernetes_cluster.model import Catalogue, ServerMemo
from metaferry_runtime.connectors.kubernetes_cluster.resources import RESOURCES, Json, Resource, Snapshot
from metaferry_runtime.sdk import ElementUpsert

if TYPE_CHECKING:
    from metaferry_runtime.connectors.kubernetes_cluster.connector import KubernetesClusterConnector

#: How long engage() waits for an event before returning to the runtime's loop (which may be stopping).
WAIT_SECONDS = 1.0
#: After the first event, how long more are gathered into the same change batch.
BURST_SECONDS = 0.05
#: Between attempts to reopen a watch the API server dropped.
RETRY_SECONDS = 1.0
GONE = 410
#: How long stop() waits for the watch threads.
STOP_SECONDS = 10.0


@dataclass(frozen=True)
class Relisted:
    """A resource listed afresh after a 410: its objects replace the snapshot's."""

    resource: str
    items: list[Json]
    version: str
    reason: str


@dataclass(frozen=True)
class Event:
    resource: str
    kind: str
    obj: Json


@dataclass
class WatchStatistics:
    """What the watches did, for tests and the audit log: reopened without a list, and lists after a 410."""

    resumed: dict[str, int] = field(default_factory=dict)
    relisted: dict[str, int] = field(default_factory=dict)


class ClusterWatcher:
    """The snapshot, the watch threads, and the engage step that writes what they saw."""

    def __init__(self, connector: KubernetesClusterConnector) -> None:
        self._connector = connector
        self._events: queue.Queue[Event | Relisted] = queue.Queue()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._responses: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.snapshot: Snapshot | None = None
        self.names: dict[str, str] = {}
        #: What the last committed writes wrote (properties and GUIDs): a burst writes only what differs.
        self.written: dict[str, Mapping[str, Any]] = {}
        self.guids: dict[str, str] = {}
        #: Workloads' elements as last made: a burst re-makes only the workloads whose objects changed.
        self.memo: ServerMemo = {}
        #: Where each watch resumes from: its list's resourceVersion, then each event's and bookmark's.
        self.versions: dict[str, str] = {}
        self.statistics = WatchStatistics()

    def engage(self) -> None:
        """First call: list everything, write it, start the watches. Later calls: write the next burst."""
        if self.snapshot is None:
            self.snapshot = self._listed()
            self.versions = dict(self.snapshot.versions)
            self._write()
            for resource in RESOURCES:
                thread = threading.Thread(
                    target=self._watch, args=(resource,), name=f"kubernetes-watch-{resource.name}", daemon=True
                )
                self._threads.append(thread)
                thread.start()
            return
        burst = self._burst()
        if burst and self._apply(burst):
            self._write()

    def stop(self) -> None:
        """Stop the watches: close their open responses, so a blocked read returns, and join the threads. A
        thread may be opening a request as this runs: its response is closed as soon as it registers it."""
        self._stopping.set()
        deadline = time.monotonic() + STOP_SECONDS
        while self._threads and time.monotonic() < deadline:
            with self._lock:
                responses = list(self._responses.values())
            for response in responses:
                response.close()
            for thread in list(self._threads):
                thread.join(timeout=0.1)
                if not thread.is_alive():
                    self._threads.remove(thread)

    def reopen(self, resource: str) -> None:
        """End the resource's open watch request; its thread opens another from `versions[resource]`."""
        with self._lock:
            response = self._responses.get(resource)
        if response is not None:
            response.close()

    # --- the engage thread --------------------------------------------------------------------------------
    def _listed(self) -> Snapshot:
        snapshot = Snapshot()
        for resource in RESOURCES:
            items, version = self._connector.list_resource(resource)
            snapshot.replace(resource.name, items, version)
        return snapshot

    def _burst(self) -> list[Event | Relisted]:
        try:
            first = self._events.get(timeout=WAIT_SECONDS)
        except queue.Empty:
            return []
        burst = [first]
        try:
            while True:
                burst.append(self._events.get(timeout=BURST_SECONDS))
        except queue.Empty:
            return burst

    def _apply(self, burst: list[Event | Relisted]) -> bool:
        assert self.snapshot is not None
        changed = False
        for item in burst:
            if isinstance(item, Relisted):
                self.snapshot.replace(item.resource, item.items, item.version)
                self._connector.relisted(item.resource, item.reason)
                changed = True
            else:
                changed = self.snapshot.apply(item.resource, item.kind, item.obj) or changed
        return changed

    def _write(self) -> None:
        assert self.snapshot is not None
        context = self._connector.context
        catalogue = self._connector.catalogue(self.snapshot, self.memo)
        names = catalogue.names()
        changed = _only_changed(catalogue, self.written)
        with context.change_batch():
            outcome = write_catalogue(context, changed, known=self.guids)
            outcome.archived = archive_missing(context, previous=self.names, current=names)
        # Only once committed: a batch that failed is written whole next time.
        self.names, self.guids = names, {name: guid for name, guid in outcome.guids.items() if name in names}
        for group in (changed.hosts, changed.namespaces, changed.endpoints, changed.servers):
            self.written.update((upsert.qualified_name, upsert.properties) for upsert in group)
        for name in outcome.archived:
            self.written.pop(name, None)
        if outcome.changed or outcome.archived:
            self._connector.report(outcome)

    # --- the watch threads ------------------------------------------------------------------------------------
    def _watch(self, resource: Resource) -> None:
        first = True
        while not self._stopping.is_set():
            if not first:
                self.statistics.resumed[resource.name] = self.statistics.resumed.get(resource.name, 0) + 1
            first = False
            try:
                self._stream(resource)
            except ApiException as error:
                if error.status == GONE:
                    self.versions[resource.name] = self._relist(resource, f"410 Gone: {kube.reason_of(error)}")
                    first = True
                    continue
                self._stopping.wait(RETRY_SECONDS)
            except Exception:  # the server went away, or stop() or reopen() closed the response
                # Reopen from the same version; a read on a response closed from another thread fails with
                # whatever http.client meets half-way (AttributeError, ValueError), so no narrower class fits.
                self._stopping.wait(RETRY_SECONDS)

    def _stream(self, resource: Resource) -> None:
        """One watch request from the resource's version, which its events and bookmarks move on."""
        settings = self._connector.settings
        version = self.versions.get(resource.name, "")
        response = kube.request(
            self._connector.api,
            resource.path,
            timeout=(
                settings.request_timeout_seconds,
                settings.watch_timeout_seconds + settings.request_timeout_seconds,
            ),
            watch="true",
            allowWatchBookmarks="true",
            resourceVersion=version,
            timeoutSeconds=settings.watch_timeout_seconds,
            labelSelector=self._connector.selector_of(resource),
        )
        with self._lock:
            self._responses[resource.name] = response
        if self._stopping.is_set():  # stop() ran while the request was being opened
            response.close()
        try:
            for line in kube.lines(response):
                event = json.loads(line)
                kind, obj = str(event.get("type")), event.get("object") or {}
                if kind == "ERROR":
                    raise ApiException(status=obj.get("code"), reason=obj.get("message"))
                version = str((obj.get("metadata") or {}).get("resourceVersion") or version)
                self.versions[resource.name] = version
                if kind != "BOOKMARK":
                    self._events.put(Event(resource.name, kind, obj))
                if self._stopping.is_set():
                    break
        finally:
            with self._lock:
                self._responses.pop(resource.name, None)
            response.release_conn()

    def _relist(self, resource: Resource, reason: str) -> str:
        while not self._stopping.is_set():
            try:
                items, version = self._connector.list_resource(resource)
            except Exception:  # the server is away or refuses: try again, the watch cannot go on without it
                self._stopping.wait(RETRY_SECONDS)
                continue
            self.statistics.relisted[resource.name] = self.statistics.relisted.get(resource.name, 0) + 1
            self._events.put(Relisted(resource.name, items, version, reason))
            return version
        return ""


def _only_changed(catalogue: Catalogue, written: Mapping[str, Mapping[str, Any]]) -> Catalogue:
    """The catalogue without the elements whose properties are those last written (their links unchanged too:
    a workload's links are in its properties)."""

    def changed(group: list[ElementUpsert]) -> list[ElementUpsert]:
        return [upsert for upsert in group if written.get(upsert.qualified_name) != upsert.properties]

    return dataclasses.replace(
        catalogue,
        hosts=changed(catalogue.hosts),
        namespaces=changed(catalogue.namespaces),
        endpoints=changed(catalogue.endpoints),
        servers=changed(catalogue.servers),
    )


__all__ = ["ClusterWatcher", "WatchStatistics"]
