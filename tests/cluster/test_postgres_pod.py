"""The pod runner runs the official PostgreSQL image's contract as a local process (tests/cluster/README.md):
``docker-entrypoint.sh postgres`` (the stand-in in image-bin/) initialises an empty PGDATA with
POSTGRES_PASSWORD and serves on the pod's address; a PersistentVolumeClaim's volume outlives the pod; a
StatefulSet's replaced pod keeps its address; other pods reach it by its Service name (the hosts-file
stand-in for cluster DNS)."""

# mypy: disable-error-code="arg-type,union-attr"

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from kubernetes import client

from tests.cluster.pod_runner import PodRunner, postgresql_bin_dir
from tests.cluster.waiting import wait_for

pytestmark = pytest.mark.cluster

Json = dict[str, Any]
PASSWORD = "s3cret-for-the-test"
LABELS = {"app": "db"}


def _statefulset() -> Json:
    container = {
        "name": "postgresql",
        "image": "postgres:17",
        "command": ["docker-entrypoint.sh"],
        "args": ["postgres"],
        "env": [
            {"name": "POSTGRES_USER", "value": "app"},
            {"name": "POSTGRES_DB", "value": "appdb"},
            {"name": "POSTGRES_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
            {"name": "PGDATA", "value": "/var/lib/postgresql/data/pgdata"},
            {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        ],
        "ports": [{"name": "postgresql", "containerPort": 5432}],
        "readinessProbe": {
            "exec": {"command": ["sh", "-c", 'exec pg_isready -h "$POD_IP" -U app -d appdb']},
            "periodSeconds": 1,
        },
        "volumeMounts": [
            {"name": "data", "mountPath": "/var/lib/postgresql/data"},
            {"name": "run", "mountPath": "/var/run/postgresql"},
        ],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db"},
        "spec": {
            "serviceName": "db",
            "replicas": 1,
            "selector": {"matchLabels": LABELS},
            "template": {
                "metadata": {"labels": LABELS},
                "spec": {
                    "terminationGracePeriodSeconds": 30,
                    "containers": [container],
                    "volumes": [{"name": "run", "emptyDir": {}}],
                },
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data"},
                    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
                }
            ],
        },
    }


def _ready_pod(core: client.CoreV1Api, namespace: str, uid_not: str | None = None) -> client.V1Pod | None:
    for pod in core.list_namespaced_pod(namespace, label_selector="app=db").items:
        ready = any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])
        if ready and pod.status.pod_ip and pod.metadata.uid != uid_not and not pod.metadata.deletion_timestamp:
            return pod
    return None


def _url(ip: str, password: str = PASSWORD) -> str:
    return f"postgresql://app:{password}@{ip}:5432/appdb"


def test_postgresql_pod_initialises_its_claim_and_keeps_it_when_replaced(
    k8s_client: client.ApiClient, pod_runner: PodRunner, namespace: str
) -> None:
    if postgresql_bin_dir() is None:
        pytest.fail("no PostgreSQL server binaries under /usr/lib/postgresql: run scripts/start-postgres.sh", False)
    core, apps = client.CoreV1Api(k8s_client), client.AppsV1Api(k8s_client)
    core.create_namespaced_secret(namespace, {"metadata": {"name": "db"}, "stringData": {"password": PASSWORD}})
    core.create_namespaced_service(
        namespace, {"metadata": {"name": "db"}, "spec": {"selector": LABELS, "ports": [{"port": 5432}]}}
    )
    apps.create_namespaced_stateful_set(namespace, _statefulset())
    first = wait_for(lambda: _ready_pod(core, namespace), timeout=120, what="the PostgreSQL pod to be Ready")
    assert first.metadata.name == "db-0"
    assert [v.persistent_volume_claim.claim_name for v in first.spec.volumes if v.persistent_volume_claim] == [
        "data-db-0"
    ]
    with psycopg.connect(_url(first.status.pod_ip), connect_timeout=10) as conn:
        conn.execute("CREATE TABLE kept (n int)")
        conn.execute("INSERT INTO kept VALUES (1), (2), (3)")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(_url(first.status.pod_ip, "wrong"), connect_timeout=10)
    assert "PostgreSQL init process complete" in pod_runner.logs(namespace, "db-0", "postgresql")

    # Another pod reaches it by the Service's name, as connector pods reach the chart's repository.
    wait_for(lambda: pod_runner.service_address(namespace, "db"), timeout=30, what="the Service's name")
    client_pod = {
        "metadata": {"name": "client"},
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {
                    "name": "main",
                    "image": "ignored",
                    "command": [
                        "python3",
                        "-c",
                        "import psycopg, sys; print(psycopg.connect(sys.argv[1]).execute("
                        "'SELECT count(*) FROM kept').fetchone()[0])",
                        _url(f"db.{namespace}.svc"),
                    ],
                }
            ],
        },
    }
    core.create_namespaced_pod(namespace, client_pod)
    wait_for(
        lambda: core.read_namespaced_pod("client", namespace).status.phase in ("Succeeded", "Failed"),
        timeout=60,
        what="the client pod to finish",
    )
    assert pod_runner.logs(namespace, "client", "main").strip() == "3"
    assert pod_runner.service_address(namespace, "db") == first.status.pod_ip

    core.delete_namespaced_pod("db-0", namespace)
    second = wait_for(
        lambda: _ready_pod(core, namespace, uid_not=first.metadata.uid), timeout=120, what="the replaced pod"
    )
    assert second.status.pod_ip == first.status.pod_ip  # a StatefulSet pod keeps its address
    with psycopg.connect(_url(second.status.pod_ip), connect_timeout=10) as conn:
        assert conn.execute("SELECT sum(n) FROM kept").fetchone() == (6,)
    log = pod_runner.logs(namespace, "db-0", "postgresql")
    assert log.count("PostgreSQL init process complete") == 1  # the second start found the data
