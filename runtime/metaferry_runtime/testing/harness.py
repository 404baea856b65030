"""The harness: one connector driven as the runtime drives it, over a fresh repository, one call at a time.

The connector is configured by `configure_connector` (the call order the engine and `check` share) with the
Connection and the context built by `connection_for` / `context_for`, the engine's own assembly, so a
connector that passes under the harness sees the same calls under `metaferry-runtime run`. What the engine
adds (threads, timeouts, restarts) is left out on purpose: a test calls `refresh()` and sees its exception.
Each refresh runs inside the context's `refresh_batch`, as the engine runs it, and the harness keeps what it
changed: its ChangeCounts and the out-topic events it published.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, TypeVar

from metaferry_runtime.audit import AuditLog, AuditRecord, SecretMasker
from metaferry_runtime.lifecycle.assembly import connection_for, context_for
from metaferry_runtime.lifecycle.configure import configure_connector
from metaferry_runtime.lifecycle.outcome import describe_error, refresh_record, summarise_refusals
from metaferry_runtime.lifecycle.scheduler import PendingRefresh
from metaferry_runtime.report import ConnectorReport, ConnectorStatus, RefreshRecord, RefreshResult
from metaferry_runtime.repository import (
    ChangeCounts,
    ChangeEvent,
    FailSafeRefusal,
    MetadataRepository,
    open_repository,
)
from metaferry_runtime.resource import ArchiveRefusal, ConnectorResource, RefreshStatistics
from metaferry_runtime.sdk import IntegrationConnector, IntegrationContext
from metaferry_runtime.testing.manifests import Manifest, build_manifest

ConnectorT = TypeVar("ConnectorT", bound=IntegrationConnector[Any])

#: Audit records kept per harness: enough for every record of a test, unlike the runtime's rolling window.
AUDIT_RECORDS_KEPT = 10_000
#: The most out-topic events one refresh is expected to publish in a test.
MAX_EVENTS_PER_REFRESH = 1_000_000


#: The `connector_harness` fixture: called with `ConnectorHarness.create`'s arguments.
HarnessFactory = Callable[..., "ConnectorHarness[Any]"]


class OwnedRepository:
    """A repository the kit opened and closes: SQLite in a temporary directory, or the database at `url`."""

    def __init__(self, url: str | None = None) -> None:
        self._directory = None if url is not None else Path(tempfile.mkdtemp(prefix="metaferry-testing-"))
        self.url = url or f"sqlite:///{self._directory}/repository.db"
        self.repository = open_repository(self.url, poll_interval=0.2)

    def close(self) -> None:
        self.repository.close()
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)


class ConnectorHarness(Generic[ConnectorT]):
    """Runs `connector_class` with `resource` over `repository`; `close()` (or the `with` block) disconnects.

    Build one with `ConnectorHarness.create(...)` or the `connector_harness` pytest fixture.
    """

    def __init__(
        self,
        connector_class: type[ConnectorT],
        *,
        resource: ConnectorResource,
        repository: MetadataRepository,
        secrets: Mapping[str, str] | None = None,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.resource = resource
        self.repository = repository
        self.secrets = dict(secrets or {})
        self.masker = SecretMasker(self.secrets.values())
        name = resource.metadata.name
        self.runtime_audit_log = AuditLog(
            "metaferry-runtime", connector_name=name, masker=self.masker, keep=AUDIT_RECORDS_KEPT
        )
        service = resource.spec.integration_service.value
        # The service's context; typed as the base here, since the class is chosen by the manifest at run time:
        # a typed test reads it as `harness.connector.context`.
        self.context: IntegrationContext = context_for(
            resource, repository, audit_log=self.runtime_audit_log.child(f"context/{service}")
        )
        self.audit_log = self.runtime_audit_log.child(f"connector/{resource.spec.connector}")
        self.connection = connection_for(resource, self.secrets)
        self.instance_id = str(uuid.uuid4())
        self.connector: ConnectorT = connector_class()
        self.refreshes = 0
        self.last_counts: ChangeCounts | None = None
        self.last_events: list[ChangeEvent] = []
        self._on_close = on_close
        self._disconnected = False
        self._status, self._status_changed = ConnectorStatus.INITIALIZED, datetime.now(UTC)
        self._last_refresh: RefreshRecord | None = None
        self._archive_refused: ArchiveRefusal | None = None
        self._failed_refreshes = 0

    @classmethod
    def create(
        cls,
        connector_class: type[ConnectorT],
        manifest: Manifest | None = None,
        *,
        repository_url: str | None = None,
        secrets: Mapping[str, str] | None = None,
        configure: bool = True,
        start: bool = True,
        **spec_fields: Any,
    ) -> ConnectorHarness[ConnectorT]:
        """A harness over a fresh repository (SQLite in a temporary directory unless `repository_url` is given,
        e.g. a PostgreSQL database), configured and started unless told otherwise (`configure=False` leaves
        both to the test). `spec_fields` are those of
        `build_manifest` (`endpoint=`, `configuration_properties=`, `catalog_targets=`...)."""
        resource = build_manifest(connector_class, manifest, **spec_fields)
        owned = OwnedRepository(repository_url)
        try:
            harness = cls(connector_class, resource=resource, repository=owned.repository, secrets=secrets)
        except BaseException:
            owned.close()
            raise
        harness._on_close = owned.close
        try:
            if configure:
                harness.configure()
                if start:
                    harness.start()
        except BaseException:
            harness.close()
            raise
        return harness

    # --- the lifecycle, one call at a time ------------------------------------------------------------------
    def configure(self) -> None:
        """initialize, set_audit_log, set_connector_name, set_context, in the engine's order."""
        configure_connector(
            self.connector,
            connection=self.connection,
            instance_id=self.instance_id,
            audit_log=self.audit_log,
            connector_name=self.resource.metadata.name,
            context=self.context,
        )

    def start(self) -> None:
        self.connector.start()
        self._set_status(ConnectorStatus.RUNNING)

    def refresh(self) -> ChangeCounts:
        """One refresh in the refresh's transaction, as the engine runs it; returns its counts (its events are
        `last_events`, its record in `report()`). The connector's exception propagates, and the transaction
        is then rolled back."""
        self.refreshes += 1
        self.last_counts, self.last_events = None, []
        refresh = PendingRefresh(refresh_id=f"refresh-{self.refreshes}", trigger="request")
        started, clock = datetime.now(UTC), time.monotonic()
        before = self.repository.head_sequence()
        counts, refusals, error = ChangeCounts(), [], None
        try:
            with self.context.refresh_batch(refresh.refresh_id) as batch:
                self.connector.refresh()
                counts = batch.transaction.counts.model_copy()
                refusals = list(batch.archive_refusals)
        except BaseException as failure:
            error = failure
            raise
        finally:
            self.last_events = list(self.repository.events_since(before, limit=MAX_EVENTS_PER_REFRESH))
            self._record(refresh, started, time.monotonic() - clock, counts, refusals, error)
        self.last_counts = counts
        return counts

    def _record(
        self,
        refresh: PendingRefresh,
        started: datetime,
        duration: float,
        counts: ChangeCounts,
        refusals: list[FailSafeRefusal],
        error: BaseException | None,
    ) -> None:
        """Keep the refresh's record and fail-safe refusal as the engine builds them, for `report()`."""
        described = None if error is None else describe_error(error, mask=self.masker.mask)
        self._last_refresh = refresh_record(
            refresh,
            started=started,
            duration=duration,
            result=RefreshResult.SUCCEEDED if error is None else RefreshResult.FAILED,
            counts=counts,
            error=described,
            refusals=refusals,
        )
        self._archive_refused = summarise_refusals(
            refresh.refresh_id, refusals, connector_name=self.resource.metadata.name, mask=self.masker.mask
        )
        self._failed_refreshes += error is not None
        self._set_status(ConnectorStatus.RUNNING if error is None else ConnectorStatus.FAILED)

    def engage_once(self) -> list[ChangeEvent]:
        """One call of engage() on this thread, as the engage thread makes it; returns the events it published."""
        before = self.repository.head_sequence()
        self.connector.engage()
        return list(self.repository.events_since(before, limit=MAX_EVENTS_PER_REFRESH))

    def disconnect(self) -> None:
        """As the engine disconnects: the context refuses use first, then the connector's disconnect() (once)."""
        if self._disconnected:
            return
        self._disconnected = True
        self.context.disconnect()
        self.connector.disconnect()
        self._set_status(ConnectorStatus.DISCONNECTED)

    def close(self) -> None:
        """Disconnect, then close the repository if the harness opened it."""
        try:
            self.disconnect()
        finally:
            on_close, self._on_close = self._on_close, None
            if on_close is not None:
                on_close()

    def __enter__(self) -> ConnectorHarness[ConnectorT]:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    # --- what a test reads ----------------------------------------------------------------------------------
    @property
    def metadata_source(self) -> str:
        """The metadata collection that owns what the connector creates."""
        return self.resource.metadata_source_qualified_name

    def report(self) -> ConnectorReport:
        """What the runtime's `/status` would report for this connector after the calls made so far: its
        status, the last refresh's record and statistics, its last error and the deletion fail-safe's refusal
        (built by the engine's own functions, masked as the engine masks them)."""
        last = self._last_refresh
        return ConnectorReport(
            connector_name=self.resource.metadata.name,
            connector_instance_id=self.instance_id,
            connector=f"{type(self.connector).__module__}:{type(self.connector).__qualname__}",
            integration_service=self.resource.spec.integration_service.value,
            metadata_source_qualified_name=self.metadata_source,
            status=self._status,
            last_status_change=self._status_changed,
            last_refresh_time=None if last is None else last.started,
            last_refresh_duration_seconds=None if last is None else last.duration_seconds,
            refresh_count=self.refreshes,
            failed_refresh_count=self._failed_refreshes,
            last_error=None if last is None else last.error,
            last_refresh=last,
            last_handled_refresh_id=None if last is None else last.refresh_id,
            statistics=RefreshStatistics() if last is None else last.statistics,
            archive_refused=self._archive_refused,
        )

    def _set_status(self, status: ConnectorStatus) -> None:
        if status is not self._status:
            self._status, self._status_changed = status, datetime.now(UTC)

    def audit_records(self) -> list[AuditRecord]:
        """Every audit record of the runtime's log, the context's and the connector's, oldest first."""
        return self.runtime_audit_log.records()

    def changed(self, kind: str) -> set[str]:
        """Qualified names of the elements the last refresh's events report with this kind (ELEMENT_...)."""
        return {
            event.element.qualified_name
            for event in self.last_events
            if event.kind.value == kind and event.element is not None
        }
