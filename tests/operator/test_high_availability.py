"""Two operator replicas with leader election: one acts, the other stands by and takes over.

Both replicas watch the same namespace against the real control plane. "Acts" is seen from outside:
the standby's metrics count no reconcile and no refresh request, and every annotation is carried out
exactly once (the recording connector's file and the RefreshRequested Events), across a killed leader,
a graceful hand-over, and a Lease taken by someone else.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from kubernetes import client

from tests.cluster.control_plane import ControlPlane
from tests.operator.conftest import Kubectl, OperatorProcess
from tests.operator.test_operator import (
    REFRESH,
    TIMEOUT,
    Connectors,
    _event_messages,
    _stable_refreshes,
)
from tests.waiting import wait_for

pytestmark = pytest.mark.cluster
LEASES = client.CoordinationV1Api


class Replicas:
    """Operator processes sharing one Lease (short timings: 3 s lease, 2 s renew deadline)."""

    def __init__(self, plane: ControlPlane, namespace: str, directory: Path) -> None:
        self.plane, self.namespace, self.directory = plane, namespace, directory
        self.started: list[OperatorProcess] = []

    def start(self, name: str) -> OperatorProcess:
        replica = OperatorProcess(
            plane=self.plane,
            namespace=self.namespace,
            log_path=self.directory / f"{name}.log",
            METAFERRY_LEADER_ELECTION="true",
            METAFERRY_OPERATOR_NAMESPACE=self.namespace,
            METAFERRY_LEASE_DURATION="3",
            METAFERRY_LEASE_RENEW_DEADLINE="2",
            METAFERRY_LEASE_RETRY_PERIOD="0.5",
        )
        replica.start()
        self.started.append(replica)
        return replica

    def stop_all(self) -> None:
        for replica in self.started:
            replica.stop()


def metric(replica: OperatorProcess, name: str) -> float:
    """The sum of one metric's samples on the replica's /metrics (0 when it has none yet)."""
    text = httpx.get(f"http://127.0.0.1:{replica.metrics_port}/metrics", timeout=5).text
    samples = re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, flags=re.MULTILINE)
    return sum(float(value) for value in samples)


def leading(replica: OperatorProcess) -> bool:
    try:
        return metric(replica, "metaferry_operator_leader") == 1
    except httpx.HTTPError:
        return False


def standing_by(replica: OperatorProcess) -> bool:
    return "standing by" in replica.log()


@pytest.fixture
def replicas(control_plane: ControlPlane, crd: str, namespace: str, tmp_path: Path) -> Iterator[Replicas]:
    group = Replicas(control_plane, namespace, tmp_path)
    yield group
    group.stop_all()


@pytest.fixture
def connectors(
    k8s_client: client.ApiClient, kubectl: Kubectl, namespace: str, data_dir: Path, pod_runner: Any
) -> Connectors:
    return Connectors(k8s_client, kubectl, namespace, data_dir)


def test_only_the_leader_acts_and_a_standby_takes_over_when_it_dies(
    replicas: Replicas, connectors: Connectors, k8s_client: client.ApiClient, namespace: str
) -> None:
    first = replicas.start("first")
    wait_for(lambda: leading(first), timeout=TIMEOUT, what="the first replica to lead")
    second = replicas.start("second")
    wait_for(lambda: standing_by(second), timeout=TIMEOUT, what="the second replica to stand by")

    data = connectors.create("files")
    connectors.wait_ready("files")
    before = _stable_refreshes(connectors, "files", data)
    connectors.annotate("files", REFRESH, "one")
    wait_for(lambda: connectors.status("files").get("lastHandledRefreshAt") == "one", timeout=TIMEOUT)
    assert _stable_refreshes(connectors, "files", data) == before + 1
    assert metric(second, "metaferry_operator_reconcile_total") == 0
    assert metric(second, "metaferry_operator_action_requests_total") == 0
    assert not leading(second)

    first.stop(kill=True)  # no release: the standby must wait for the Lease to expire
    connectors.annotate("files", REFRESH, "two")
    wait_for(lambda: leading(second), timeout=TIMEOUT, what="the standby to take over")
    wait_for(lambda: connectors.status("files").get("lastHandledRefreshAt") == "two", timeout=TIMEOUT)
    assert _stable_refreshes(connectors, "files", data) == before + 2
    assert len(_event_messages(connectors, "files", "RefreshRequested")) == 2
    lease = LEASES(k8s_client).read_namespaced_lease("metaferry-operator", namespace)
    assert lease.spec.holder_identity.startswith(socket.gethostname() + "_")
    assert lease.spec.lease_transitions == 1


def test_a_stopping_leader_hands_over_and_a_leader_that_loses_its_lease_exits(
    replicas: Replicas, connectors: Connectors, k8s_client: client.ApiClient, namespace: str
) -> None:
    first = replicas.start("first")
    wait_for(lambda: leading(first), timeout=TIMEOUT, what="the first replica to lead")
    second = replicas.start("second")
    wait_for(lambda: standing_by(second), timeout=TIMEOUT, what="the second replica to stand by")

    first.stop()  # SIGTERM: every task stops, then the Lease is released
    assert first.process is not None and first.process.returncode == 0
    assert "released lease" in first.log()
    wait_for(lambda: leading(second), timeout=TIMEOUT, what="the standby to take over")
    leases = LEASES(k8s_client)
    assert leases.read_namespaced_lease("metaferry-operator", namespace).spec.lease_transitions == 0

    leases.patch_namespaced_lease("metaferry-operator", namespace, {"spec": {"holderIdentity": "someone-else"}})
    assert second.process is not None
    assert second.process.wait(TIMEOUT) == 1  # exits so that a restart rejoins as a standby
    assert "lost lease" in second.log()
    assert leases.read_namespaced_lease("metaferry-operator", namespace).spec.holder_identity == "someone-else"
