"""Small builders of connector bodies, pods and reports for the operator's unit tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from metaferry_operator import naming
from metaferry_operator.observation import PodObservation
from metaferry_runtime.report import ConnectorReport, ConnectorStatus
from metaferry_runtime.resource import ConnectorResource

NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


def connector_body(name: str = "files", namespace: str = "data", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "metaferry.io/v1alpha1",
        "kind": "IntegrationConnector",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": "0000-1111",
            "generation": 1,
            "resourceVersion": "10",
            "annotations": {},
        },
        "spec": {
            "integrationService": "files",
            "connector": "directory-monitor",
            "connection": {"endpoint": "/data"},
            **spec,
        },
    }


def connector(name: str = "files", namespace: str = "data", **spec: Any) -> ConnectorResource:
    body = connector_body(name, namespace, **spec)
    return ConnectorResource.model_validate(body)


def pod(*, ready: bool = True, config_hash: str | None = "h", **changes: Any) -> PodObservation:
    values: dict[str, Any] = {
        "name": "files-runtime-abc",
        "created": "2030-01-01T00:00:00Z",
        "phase": "Running",
        "ip": "127.0.1.5",
        "ready": ready,
        "running": True,
        "restart_count": 0,
        "config_hash": config_hash,
        "deleting": False,
    }
    values.update(changes)
    return PodObservation(**values)


def report(status: ConnectorStatus = ConnectorStatus.WAITING, **changes: Any) -> ConnectorReport:
    values: dict[str, Any] = {
        "connector_name": "files",
        "connector_instance_id": "i-1",
        "connector": "directory-monitor",
        "integration_service": "files",
        "metadata_source_qualified_name": "data/files",
        "status": status,
        "last_status_change": NOW,
        "refresh_count": 1,
    }
    values.update(changes)
    return ConnectorReport(**values)


def pod_json(*, ready: bool = True, waiting: str | None = None) -> dict[str, Any]:
    state = {"waiting": {"reason": waiting, "message": "back-off 10s"}} if waiting else {"running": {}}
    return {
        "metadata": {
            "name": "files-runtime-abc",
            "namespace": "data",
            "creationTimestamp": "2030-01-01T00:00:00Z",
            "annotations": {naming.CONFIG_HASH_ANNOTATION: "h"},
        },
        "status": {
            "phase": "Running",
            "podIP": "127.0.1.5",
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "containerStatuses": [{"name": "runtime", "ready": ready, "restartCount": 2, "state": state}],
        },
    }
