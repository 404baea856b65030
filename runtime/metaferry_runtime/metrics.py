"""Prometheus metrics of one runtime process (one connector), on a registry of its own.

A registry per runtime (not the global one) keeps tests and embedded runtimes independent. Labels are
bounded: results, statuses and repository operations are small fixed sets.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Enum, Gauge, Histogram, Info

from metaferry_runtime import __version__
from metaferry_runtime.report import ConnectorStatus, RefreshResult
from metaferry_runtime.repository import ChangeCounts

_WRITE_OPERATIONS = ("created", "updated", "archived", "restored", "deleted")


class RuntimeMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self.refreshes = Counter(
            "metaferry_refreshes", "Refreshes finished, by result.", ["result"], registry=self.registry
        )
        self.refresh_duration = Histogram(
            "metaferry_refresh_duration_seconds",
            "Duration of refreshes.",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 1800),
            registry=self.registry,
        )
        self.last_refresh = Gauge(
            "metaferry_last_refresh_timestamp_seconds",
            "Unix time at which the last refresh finished.",
            registry=self.registry,
        )
        self.last_success = Gauge(
            "metaferry_last_successful_refresh_timestamp_seconds",
            "Unix time at which the last successful refresh finished.",
            registry=self.registry,
        )
        self.status = Enum(
            "metaferry_connector_status",
            "Current status of the connector (Egeria's names).",
            states=[status.value for status in ConnectorStatus],
            registry=self.registry,
        )
        self.restarts = Counter("metaferry_connector_restarts", "Connector restarts.", registry=self.registry)
        self.repository_writes = Counter(
            "metaferry_repository_writes",
            "Elements written to the open metadata repository by committed refreshes, by operation.",
            ["operation"],
            registry=self.registry,
        )
        self.build = Info("metaferry_runtime_build", "Version of the runtime.", registry=self.registry)
        self.build.info({"version": __version__})
        for result in RefreshResult:
            self.refreshes.labels(result=result.value)
        for operation in _WRITE_OPERATIONS:
            self.repository_writes.labels(operation=operation)

    def status_changed(self, status: ConnectorStatus) -> None:
        self.status.state(status.value)

    def restarted(self) -> None:
        self.restarts.inc()

    def refresh_finished(self, *, result: str, duration: float, counts: ChangeCounts) -> None:
        now = time.time()
        self.refreshes.labels(result=result).inc()
        self.refresh_duration.observe(duration)
        self.last_refresh.set(now)
        if result == RefreshResult.SUCCEEDED.value:
            self.last_success.set(now)
            for operation in _WRITE_OPERATIONS:
                value = getattr(counts, operation)
                if value:
                    self.repository_writes.labels(operation=operation).inc(value)
