"""Fixtures of the connector tests: a real directory tree, a real SQLite repository, and connectors driven
the way the runtime drives them (initialize, set_audit_log, set_connector_name, set_context, start)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from metaferry_runtime.audit import AuditLog, SecretMasker
from metaferry_runtime.connectors.directory_monitor import DirectoryMonitorConnector
from metaferry_runtime.lifecycle.configure import configure_connector
from metaferry_runtime.repository import ChangeCounts, ChangeEvent, MetadataRepository, open_repository
from metaferry_runtime.resource.spec import DeletionDetection
from metaferry_runtime.sdk import Connection, IntegrationConnector
from metaferry_runtime.sdk.contexts import ElementContext, FilesIntegratorContext, create_context

SOURCE = "test/directory-monitor"


@dataclass
class Monitor:
    connector: DirectoryMonitorConnector
    context: FilesIntegratorContext
    audit_log: AuditLog
    refreshes: int = 0

    def refresh(self) -> ChangeCounts:
        """One refresh as the runtime runs it: in the refresh's transaction; returns its counts."""
        self.refreshes += 1
        with self.context.refresh_batch(f"refresh-{self.refreshes}") as batch:
            self.connector.refresh()
        return batch.transaction.counts


@pytest.fixture
def repository(tmp_path: Path) -> Iterator[MetadataRepository]:
    repository = open_repository(f"sqlite:///{tmp_path / 'repository.db'}", poll_interval=0.2)
    yield repository
    repository.close()


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """root/{orders.csv, events.json, readme, .hidden, sales/{q1.parquet, 2024/{jan.avro}}}"""
    root = tmp_path / "tree"
    (root / "sales" / "2024").mkdir(parents=True)
    (root / "orders.csv").write_text("id,total\n1,10\n")
    (root / "events.json").write_text("{}")
    (root / "readme").write_text("hello")
    (root / ".hidden").write_text("secret-ish")
    (root / "sales" / "q1.parquet").write_bytes(b"PAR1")
    (root / "sales" / "2024" / "jan.avro").write_bytes(b"Obj")
    return root


@pytest.fixture
def make_monitor(repository: MetadataRepository) -> Iterator[Callable[..., Monitor]]:
    made: list[Monitor] = []

    def make(
        endpoint: Path | str | None,
        *,
        config: dict[str, Any] | None = None,
        deletion: DeletionDetection | None = None,
        catalog_targets: list[str] | None = None,
        start: bool = True,
    ) -> Monitor:
        audit_log = AuditLog("test", connector_name="monitor")
        context = create_context(
            "files",
            repository=repository,
            connector_name="monitor",
            metadata_source_qualified_name=SOURCE,
            catalog_targets=catalog_targets,
            deletion_detection=deletion,
        )
        assert isinstance(context, FilesIntegratorContext)
        connector = DirectoryMonitorConnector()
        configure_connector(
            connector,
            connection=Connection(
                endpoint=None if endpoint is None else str(endpoint), configuration_properties=config or {}
            ),
            instance_id="instance-1",
            audit_log=audit_log,
            connector_name="monitor",
            context=context,
        )
        if start:
            connector.start()
        monitor = Monitor(connector=connector, context=context, audit_log=audit_log)
        made.append(monitor)
        return monitor

    yield make
    for monitor in made:
        monitor.context.disconnect()
        monitor.connector.disconnect()


@dataclass
class Driven:
    """A connector configured and started as the runtime does it, over a real repository."""

    connector: IntegrationConnector[Any]
    context: ElementContext
    audit_log: AuditLog
    repository: MetadataRepository
    refreshes: int = 0
    last_events: list[ChangeEvent] | None = None

    def refresh(self) -> ChangeCounts:
        """One refresh in the refresh's transaction; returns its counts and keeps its out-topic events."""
        self.refreshes += 1
        before = self.repository.head_sequence()
        with self.context.refresh_batch(f"refresh-{self.refreshes}") as batch:
            self.connector.refresh()
        self.last_events = list(self.repository.events_since(before, limit=100_000))
        return batch.transaction.counts

    def changed(self, kind: str) -> set[str]:
        """Qualified names of the elements the last refresh's events report with this kind (ELEMENT_...)."""
        return {
            event.element.qualified_name
            for event in self.last_events or ()
            if event.kind.value == kind and event.element is not None
        }


@pytest.fixture
def drive() -> Iterator[Callable[..., Driven]]:
    """drive(ConnectorClass, repository, service=, endpoint=, config=, secrets=, catalog_targets=, start=)."""
    made: list[Driven] = []

    def make(
        connector_class: type[IntegrationConnector[Any]],
        repository: MetadataRepository,
        *,
        service: str,
        endpoint: str | None = None,
        config: dict[str, Any] | None = None,
        secrets: dict[str, str] | None = None,
        catalog_targets: list[str] | None = None,
        deletion: DeletionDetection | None = None,
        start: bool = True,
    ) -> Driven:
        secrets = secrets or {}
        audit_log = AuditLog("test", connector_name="under-test", masker=SecretMasker(secrets.values()))
        context = create_context(
            service,
            repository=repository,
            connector_name="under-test",
            metadata_source_qualified_name=f"test/{service}",
            catalog_targets=catalog_targets,
            deletion_detection=deletion,
        )
        assert isinstance(context, ElementContext)
        connector = connector_class()
        configure_connector(
            connector,
            connection=Connection(endpoint=endpoint, configuration_properties=config or {}, secured_properties=secrets),
            instance_id="instance-1",
            audit_log=audit_log,
            connector_name="under-test",
            context=context,
        )
        driven = Driven(connector=connector, context=context, audit_log=audit_log, repository=repository)
        made.append(driven)
        if start:
            connector.start()
        return driven

    yield make
    for driven in made:
        driven.context.disconnect()
        driven.connector.disconnect()


def wait_until(condition: Callable[[], bool], *, timeout: float = 15.0, what: str = "condition") -> None:
    """Poll `condition` until it holds, failing after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)
