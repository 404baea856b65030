"""Prometheus metrics of the operator (prometheus-client), served on ``METAFERRY_METRICS_PORT``.

Labels have small fixed value sets (result, action, phase); no metric is labelled per connector, so the
number of series does not grow with the number of connectors and nothing has to be removed on deletion.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, start_http_server

from metaferry_operator import __version__

REGISTRY = CollectorRegistry(auto_describe=True)

RECONCILES = Counter(
    "metaferry_operator_reconcile_total",
    "Reconcile passes over one connector, by result.",
    ["result"],
    registry=REGISTRY,
)
RECONCILE_SECONDS = Histogram(
    "metaferry_operator_reconcile_duration_seconds",
    "Time of one reconcile pass over one connector.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=REGISTRY,
)
ACTION_REQUESTS = Counter(
    "metaferry_operator_action_requests_total",
    "Refresh/restart annotations carried out, by action and result (accepted, refused, suspended, failed).",
    ["action", "result"],
    registry=REGISTRY,
)
APPLIES = Counter(
    "metaferry_operator_child_applies_total", "Server-side applies of connector children.", ["kind"], registry=REGISTRY
)
STATUS_WRITES = Counter("metaferry_operator_status_writes_total", "Status patches written.", registry=REGISTRY)
CONNECTORS = Gauge(
    "metaferry_operator_connectors", "IntegrationConnectors managed by this operator.", registry=REGISTRY
)
CONNECTORS_BY_PHASE = Gauge(
    "metaferry_operator_connectors_by_phase", "Managed connectors by status phase.", ["phase"], registry=REGISTRY
)
LEADER = Gauge(
    "metaferry_operator_leader",
    "1 while this replica acts on connectors (always, without leader election), 0 while it stands by.",
    registry=REGISTRY,
)
BUILD = Info("metaferry_operator_build", "Version of the running operator.", registry=REGISTRY)
BUILD.info({"version": __version__})


def serve(*, host: str, port: int) -> None:
    """Start the /metrics endpoint on its own thread (port 0 disables it)."""
    if port:
        start_http_server(port, addr=host, registry=REGISTRY)
