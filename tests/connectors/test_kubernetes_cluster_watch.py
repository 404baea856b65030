"""kubernetes-cluster in blocking mode: watches keep the repository in step between refreshes, resume after
a dropped watch from their resourceVersion without listing again, and list again after a 410 Gone.

engage() is called on the test's thread, as the runtime's engage thread calls it; a test calls it until
the repository shows the change (with a deadline: the time it takes is a benchmark's business)."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from metaferry_runtime.connectors.kubernetes_cluster import KubernetesClusterConnector, KubernetesClusterMessages
from metaferry_runtime.connectors.kubernetes_cluster import client as kube
from metaferry_runtime.connectors.kubernetes_cluster.model import scope_prefix
from metaferry_runtime.repository import ChangeEvent
from metaferry_runtime.testing import ConnectorHarness, conformance, elements_under
from tests.cluster.fixtures import ControlPlane
from tests.connectors import kubernetes_objects as k8s

pytestmark = pytest.mark.cluster

Harness = ConnectorHarness[KubernetesClusterConnector]


@pytest.fixture
def cluster_id(k8s_client: client.ApiClient) -> str:
    return str(client.CoreV1Api(k8s_client).read_namespace("kube-system").metadata.uid)


@pytest.fixture
def engaged(control_plane: ControlPlane, namespace: str) -> Iterator[Harness]:
    """A blocking-mode connector after its first refresh and first engage (which starts the watches)."""
    with ConnectorHarness.create(
        KubernetesClusterConnector,
        endpoint=str(control_plane.kubeconfig),
        uses_blocking_calls=True,
        configuration_properties={"includeNamespaces": [namespace], "watchTimeoutSeconds": 5},
    ) as harness:
        harness.refresh()
        harness.engage_once()
        yield harness


def engage_until(
    harness: Harness, condition: Callable[[], bool], *, what: str, timeout: float = 60.0
) -> list[ChangeEvent]:
    """engage() until the condition holds; the events those calls published."""
    deadline = time.monotonic() + timeout
    events: list[ChangeEvent] = []
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        events += harness.engage_once()
    return events


def servers(harness: Harness, prefix: str) -> set[str]:
    return set(elements_under(harness, "SoftwareServer", prefix))


def watcher_of(harness: Harness) -> Any:
    watcher = harness.connector._watcher  # the statistics a test reads; no other way to see a resumed watch
    assert watcher is not None
    return watcher


def test_a_new_deployment_reaches_the_repository_without_a_refresh(
    engaged: Harness, k8s_client: client.ApiClient, namespace: str, cluster_id: str
) -> None:
    ns = f"{scope_prefix(cluster_id)}namespaces/{namespace}"
    refreshes = engaged.refreshes
    k8s.create(k8s_client, namespace, k8s.deployment("late"))
    events = engage_until(engaged, lambda: f"{ns}/deployments/late" in servers(engaged, ns), what="the Deployment")
    created = {
        event.element.qualified_name for event in events if event.kind.value == "ELEMENT_CREATED" and event.element
    }
    assert created == {f"{ns}/deployments/late"}
    client.AppsV1Api(k8s_client).delete_namespaced_deployment("late", namespace)
    engage_until(engaged, lambda: f"{ns}/deployments/late" not in servers(engaged, ns), what="the archive")
    assert engaged.refreshes == refreshes


def test_a_watch_the_server_ends_resumes_from_its_version_without_listing_again(
    engaged: Harness, k8s_client: client.ApiClient, namespace: str, cluster_id: str
) -> None:
    ns = f"{scope_prefix(cluster_id)}namespaces/{namespace}"
    statistics = watcher_of(engaged).statistics
    # watchTimeoutSeconds is 5: the API server ends each watch request after 5 s, and the watch reopens.
    engage_until(engaged, lambda: statistics.resumed.get("deployments", 0) >= 1, what="a reopened watch")
    k8s.create(k8s_client, namespace, k8s.deployment("after-reopen"))
    engage_until(engaged, lambda: f"{ns}/deployments/after-reopen" in servers(engaged, ns), what="the Deployment")
    assert statistics.relisted == {}


def test_a_watch_answered_410_gone_lists_again_and_misses_nothing(
    engaged: Harness, k8s_client: client.ApiClient, namespace: str, cluster_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one faked part: this API server answers a watch 410 Gone only once its watch cache has evicted
    events (it serves any older version until then, even after etcd compacts), which takes minutes of churn.
    So the deployments watch's next request gets the 410 the API server would send; the list after it, the
    watches and everything else are real."""
    ns = f"{scope_prefix(cluster_id)}namespaces/{namespace}"
    watcher = watcher_of(engaged)
    apps = client.AppsV1Api(k8s_client)
    k8s.create(k8s_client, namespace, k8s.deployment("kept"), k8s.deployment("gone"))
    engage_until(engaged, lambda: f"{ns}/deployments/gone" in servers(engaged, ns), what="the Deployments")
    real_request, answered = kube.request, []

    def gone_once(api: client.ApiClient, path: str, **query: Any) -> Any:
        if query.get("watch") and path.endswith("/deployments") and not answered:
            answered.append(path)
            apps.delete_namespaced_deployment("gone", namespace)  # deleted while the watch is away
            raise ApiException(status=410, reason="Expired: too old resource version")
        return real_request(api, path, **query)

    monkeypatch.setattr(kube, "request", gone_once)
    watcher.reopen("deployments")
    engage_until(engaged, lambda: watcher.statistics.relisted.get("deployments", 0) >= 1, what="the relist")
    engage_until(engaged, lambda: f"{ns}/deployments/gone" not in servers(engaged, ns), what="the deletion")
    k8s.create(k8s_client, namespace, k8s.deployment("after-relist"))
    engage_until(engaged, lambda: f"{ns}/deployments/after-relist" in servers(engaged, ns), what="the Deployment")
    assert servers(engaged, ns) == {f"{ns}/deployments/kept", f"{ns}/deployments/after-relist"}
    assert any(r.message_id == KubernetesClusterMessages.WATCH_RELISTED.message_id for r in engaged.audit_records())


def test_the_watches_survive_an_api_server_restart(
    engaged: Harness, control_plane: ControlPlane, k8s_client: client.ApiClient, namespace: str, cluster_id: str
) -> None:
    ns = f"{scope_prefix(cluster_id)}namespaces/{namespace}"
    k8s.create(k8s_client, namespace, k8s.deployment("before"))
    engage_until(engaged, lambda: f"{ns}/deployments/before" in servers(engaged, ns), what="the Deployment")
    control_plane.restart_apiserver()
    apps = client.AppsV1Api(k8s_client)
    apps.delete_namespaced_deployment("before", namespace)
    k8s.create(k8s_client, namespace, k8s.deployment("after"))
    engage_until(
        engaged,
        lambda: servers(engaged, ns) == {f"{ns}/deployments/after"},
        what="the deletion and the creation made after the restart",
    )
    statistics = watcher_of(engaged).statistics
    assert statistics.resumed.get("deployments", 0) + statistics.relisted.get("deployments", 0) >= 1


def test_conforms_in_blocking_mode(control_plane: ControlPlane, k8s_client: client.ApiClient, namespace: str) -> None:
    """The suite's blocking-mode checks: engage() writes nothing on a quiet cluster, and disconnect() ends
    every watch thread and closes every connection.

    The suite finds leaks by comparing this process's threads and descriptors before and after a connector's
    life, so it runs in a fresh process: in the test session, the pod runner and other session fixtures open
    connections to the same API server meanwhile, which the comparison would count as the connector's."""
    k8s.create(k8s_client, namespace, k8s.deployment("web"), k8s.service("web", "web"))
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        failure = pool.submit(conformance_failure, str(control_plane.kubeconfig), namespace).result(timeout=600)
    assert failure is None, failure


def conformance_failure(kubeconfig: str, namespace: str) -> str | None:
    """The conformance suite's failure report (None when it passes), run in the calling process."""
    try:
        conformance(
            KubernetesClusterConnector,
            endpoint=kubeconfig,
            uses_blocking_calls=True,
            configuration_properties={"includeNamespaces": [namespace]},
        )
    except AssertionError as failure:
        return str(failure)
    return None
