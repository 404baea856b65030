"""The operator against the real control plane, with connector pods run by the pod runner.

Each test gets its own namespace and its own ``metaferry-operator run`` process watching only it.
Connector pods run the real runtime with :mod:`tests.operator.sample_connector`, which records each
refresh in a file, so "refreshed exactly once" and "runs the new configuration" are seen from outside.
"""

from __future__ import annotations

import base64
import json
import os
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest
from kubernetes import client

from metaferry_operator import kube
from tests.operator.conftest import REPOSITORY, Kubectl, OperatorProcess
from tests.waiting import wait_for

pytestmark = pytest.mark.cluster

GROUP, VERSION, PLURAL = "metaferry.io", "v1alpha1", "integrationconnectors"
REFRESH, RESTART = "metaferry.io/refresh-requested-at", "metaferry.io/restart-requested-at"
CONFIRM_ARCHIVE = "metaferry.io/confirm-archive-requested-at"
SECRET_VALUE = "hunter2-do-not-leak-7f3a"
TIMEOUT = 90.0


class Connectors:
    """Reads and writes of one namespace's connectors and their children, through the API."""

    def __init__(self, api: client.ApiClient, kubectl: Kubectl, namespace: str, directory: Path) -> None:
        self.custom = client.CustomObjectsApi(api)
        self.core = client.CoreV1Api(api)
        self.apps = client.AppsV1Api(api)
        self.kubectl = kubectl
        self.namespace = namespace
        self.directory = directory

    def create(self, name: str, **spec: Any) -> Path:
        data = self.directory / name
        data.mkdir(exist_ok=True)
        manifest = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "IntegrationConnector",
            "metadata": {"name": name, "namespace": self.namespace},
            "spec": self.spec(data, **spec),
        }
        self.kubectl.apply(manifest)
        return data

    @staticmethod
    def spec(data: Path, **spec: Any) -> dict[str, Any]:
        properties = spec.pop("properties", {})
        result: dict[str, Any] = {
            "integrationService": "files",
            "connector": "tests.operator.sample_connector:RecordingConnector",
            "connection": {"endpoint": str(data), "configurationProperties": properties},
            "pod": {"env": [{"name": "PYTHONPATH", "value": str(REPOSITORY)}]},
        }
        if "secret" in spec:
            result["connection"]["secretRef"] = {"name": spec.pop("secret")}
        result.update(spec)
        return result

    def patch_spec(self, name: str, patch: dict[str, Any]) -> None:
        self.kubectl.run("patch", "ic", name, "-n", self.namespace, "--type=merge", "-p", json.dumps({"spec": patch}))

    def annotate(self, name: str, key: str, value: str) -> None:
        self.kubectl.run("annotate", "ic", name, "-n", self.namespace, f"{key}={value}", "--overwrite")

    def get(self, name: str) -> dict[str, Any]:
        body: dict[str, Any] = self.custom.get_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL, name)
        return body

    def status(self, name: str) -> dict[str, Any]:
        return self.get(name).get("status") or {}

    def condition(self, name: str, kind: str = "Ready") -> dict[str, Any]:
        return next((c for c in self.status(name).get("conditions", []) if c["type"] == kind), {})

    def ready(self, name: str) -> bool:
        return self.condition(name).get("status") == "True"

    def wait_ready(self, name: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        wait_for(lambda: self.ready(name), timeout=timeout, what=f"{name} Ready=True")
        return self.status(name)

    def pods(self, name: str) -> list[Any]:
        selector = f"app.kubernetes.io/instance={name},app.kubernetes.io/managed-by=metaferry-operator"
        return list(self.core.list_namespaced_pod(self.namespace, label_selector=selector).items)

    def running_pod(self, name: str) -> Any:
        pods = [p for p in self.pods(name) if p.status.phase == "Running" and not p.metadata.deletion_timestamp]
        return pods[0] if len(pods) == 1 else None

    def refreshes(self, data: Path) -> list[dict[str, Any]]:
        path = data / "refreshes.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def events(self, name: str) -> list[Any]:
        found = self.core.list_namespaced_event(self.namespace, field_selector=f"involvedObject.name={name}").items
        return sorted(found, key=lambda e: int(e.metadata.resource_version))  # creation order

    def children(self, name: str) -> dict[str, Any]:
        child = f"{name}-runtime"

        def read(call: Any) -> Any:
            try:
                return call(child, self.namespace)
            except client.ApiException as error:
                if kube.is_not_found(error):
                    return None
                raise

        networking = client.NetworkingV1Api(self.core.api_client)
        return {
            "ConfigMap": read(self.core.read_namespaced_config_map),
            "Secret": read(self.core.read_namespaced_secret),
            "Deployment": read(self.apps.read_namespaced_deployment),
            "Service": read(self.core.read_namespaced_service),
            "NetworkPolicy": read(networking.read_namespaced_network_policy),
        }


@pytest.fixture
def connectors(
    k8s_client: client.ApiClient,
    kubectl: Kubectl,
    namespace: str,
    data_dir: Path,
    pod_runner: Any,
    operator: OperatorProcess,
) -> Connectors:
    return Connectors(k8s_client, kubectl, namespace, data_dir)


def _refresh_count(connectors: Connectors, name: str) -> int:
    return int(connectors.status(name).get("refreshCount") or 0)


def test_a_connector_becomes_ready_and_kubectl_wait_succeeds(
    connectors: Connectors, kubectl: Kubectl, namespace: str, operator: OperatorProcess
) -> None:
    data = connectors.create("files")
    kubectl.run(
        "wait", "--for=condition=Ready", "ic/files", "-n", namespace, f"--timeout={int(TIMEOUT)}s", timeout=TIMEOUT + 10
    )
    status = connectors.status("files")
    assert status["phase"] == "Running"
    assert status["observedGeneration"] == connectors.get("files")["metadata"]["generation"]
    assert status["podName"] == connectors.running_pod("files").metadata.name
    assert status["refreshCount"] >= 1
    assert connectors.refreshes(data), "the runtime refreshed at start"
    children = connectors.children("files")
    uid = connectors.get("files")["metadata"]["uid"]
    for kind, child in children.items():
        assert child is not None, kind
        owner = child.metadata.owner_references[0]
        assert (owner.uid, owner.controller, owner.block_owner_deletion) == (uid, True, True), kind
        assert child.metadata.labels["app.kubernetes.io/managed-by"] == "metaferry-operator", kind
    table = kubectl.run("get", "ic", "files", "-n", namespace).stdout
    assert "files" in table and "True" in table and "Running" in table, table
    assert "metaferry.io/finalizer" not in json.dumps(connectors.get("files")["metadata"])
    metrics = httpx.get(f"http://127.0.0.1:{operator.metrics_port}/metrics").text
    assert 'metaferry_operator_reconcile_total{result="success"}' in metrics
    assert "metaferry_operator_connectors 1.0" in metrics
    assert 'metaferry_operator_connectors_by_phase{phase="Running"} 1.0' in metrics
    health = httpx.get(f"http://127.0.0.1:{operator.env['METAFERRY_HEALTH_PORT']}/healthz")
    assert health.status_code == 200


def _stable_refreshes(connectors: Connectors, name: str, data: Path) -> int:
    """Wait until the runtime's count and the refresh file agree, and return the count."""
    return wait_for(
        lambda: (n := _refresh_count(connectors, name)) and n == len(connectors.refreshes(data)) and n,
        timeout=TIMEOUT,
        what="refreshCount to match the refreshes made",
    )


def _event_messages(connectors: Connectors, name: str, reason: str) -> list[str]:
    return [e.message for e in connectors.events(name) if e.reason == reason]


def test_a_refresh_annotation_refreshes_exactly_once_and_is_echoed(connectors: Connectors) -> None:
    data = connectors.create("files")
    connectors.wait_ready("files")
    before = _stable_refreshes(connectors, "files", data)
    connectors.annotate("files", REFRESH, "2030-01-01T00:00:00Z")
    wait_for(
        lambda: connectors.status("files").get("lastHandledRefreshAt") == "2030-01-01T00:00:00Z",
        timeout=TIMEOUT,
        what="the token echoed in status",
    )
    wait_for(lambda: _refresh_count(connectors, "files") == before + 1, timeout=TIMEOUT, what="one more refresh")
    # Three more passes of the operator (poll interval 1 s) must not repeat it.
    passes = wait_for(
        lambda: len(_event_messages(connectors, "files", "RefreshSucceeded")) >= 1 and connectors.status("files"),
        timeout=TIMEOUT,
    )
    assert passes["refreshCount"] == before + 1
    assert len(connectors.refreshes(data)) == before + 1
    assert len(_event_messages(connectors, "files", "RefreshRequested")) == 1


def test_quick_annotations_are_each_handled_once_in_order(connectors: Connectors) -> None:
    data = connectors.create("files")
    connectors.wait_ready("files")
    before = _stable_refreshes(connectors, "files", data)
    for token in ("t1", "t2", "t3"):
        connectors.annotate("files", REFRESH, token)
    wait_for(
        lambda: connectors.status("files").get("lastHandledRefreshAt") == "t3",
        timeout=TIMEOUT,
        what="the last token echoed",
    )
    requested = _event_messages(connectors, "files", "RefreshRequested")
    tokens = [message.split("=")[1].split(")")[0] for message in requested]
    assert tokens == sorted(set(tokens), key=tokens.index), f"a token was handled twice: {tokens}"
    assert tokens[-1] == "t3"
    assert tokens == [t for t in ("t1", "t2", "t3") if t in tokens]
    after = _stable_refreshes(connectors, "files", data)
    assert before + 1 <= after <= before + 3


def test_a_request_made_while_the_pod_is_not_ready_waits_for_it(connectors: Connectors) -> None:
    data = connectors.create("files")
    connectors.wait_ready("files")
    old_pod = connectors.running_pod("files").metadata.name
    connectors.patch_spec("files", {"connection": {"configurationProperties": {"startDelay": 4, "marker": "slow"}}})
    connectors.annotate("files", REFRESH, "while-rolling")
    wait_for(
        lambda: connectors.status("files").get("lastHandledRefreshAt") == "while-rolling",
        timeout=TIMEOUT,
        what="the pending request handled",
    )
    pod = connectors.running_pod("files")
    assert pod is not None and pod.metadata.name != old_pod
    lines = [line for line in connectors.refreshes(data) if line["marker"] == "slow"]
    wait_for(
        lambda: len([x for x in connectors.refreshes(data) if x["marker"] == "slow"]) == 2,
        timeout=TIMEOUT,
        what="start refresh + requested refresh on the new pod",
    )
    assert len({line["pid"] for line in lines}) <= 1


def test_a_spec_change_rolls_the_pod_and_the_new_configuration_is_used(connectors: Connectors) -> None:
    data = connectors.create("files", properties={"marker": "one"})
    connectors.wait_ready("files")
    first = connectors.running_pod("files").metadata.name
    generation = connectors.get("files")["metadata"]["generation"]
    connectors.patch_spec("files", {"connection": {"configurationProperties": {"marker": "two"}}})
    wait_for(
        lambda: any(line["marker"] == "two" for line in connectors.refreshes(data)),
        timeout=TIMEOUT,
        what="a refresh with the new configuration",
    )
    status = connectors.wait_ready("files")
    assert status["observedGeneration"] == generation + 1
    assert connectors.running_pod("files").metadata.name != first


def test_a_secret_change_rolls_the_pod(connectors: Connectors, kubectl: Kubectl, namespace: str) -> None:
    kubectl.run("create", "secret", "generic", "creds", "-n", namespace, "--from-literal=password=first-password")
    data = connectors.create("files", secret="creds")
    connectors.wait_ready("files")
    digests = {line["secret"] for line in connectors.refreshes(data)}
    assert len(digests) == 1
    kubectl.run(
        "create",
        "secret",
        "generic",
        "creds",
        "-n",
        namespace,
        "--from-literal=password=second-password",
        "--dry-run=client",
        "-o",
        "yaml",
    )
    kubectl.apply(
        kubectl.run(
            "create",
            "secret",
            "generic",
            "creds",
            "-n",
            namespace,
            "--from-literal=password=second-password",
            "--dry-run=client",
            "-o",
            "yaml",
        ).stdout
    )
    wait_for(
        lambda: len({line["secret"] for line in connectors.refreshes(data)}) == 2,
        timeout=TIMEOUT,
        what="a refresh with the new Secret",
    )
    connectors.wait_ready("files")


def test_suspend_stops_the_pod_refuses_requests_and_resume_brings_it_back(connectors: Connectors) -> None:
    connectors.create("files")
    connectors.wait_ready("files")
    connectors.patch_spec("files", {"suspend": True})
    wait_for(
        lambda: connectors.condition("files").get("reason") == "Suspended",
        timeout=TIMEOUT,
        what="Ready=False reason Suspended",
    )
    assert connectors.status("files")["phase"] == "Suspended"
    assert connectors.children("files")["Deployment"].spec.replicas == 0
    wait_for(lambda: not connectors.pods("files"), timeout=TIMEOUT, what="the pod gone")
    connectors.annotate("files", REFRESH, "while-suspended")
    wait_for(
        lambda: connectors.status("files").get("lastHandledRefreshAt") == "while-suspended",
        timeout=TIMEOUT,
        what="the request answered",
    )
    assert any("suspended" in message for message in _event_messages(connectors, "files", "RefreshRefused"))
    connectors.patch_spec("files", {"suspend": False})
    connectors.wait_ready("files")
    assert connectors.status("files")["phase"] == "Running"


def test_deleted_or_edited_children_come_back(connectors: Connectors, kubectl: Kubectl, namespace: str) -> None:
    connectors.create("files")
    connectors.wait_ready("files")
    original = {kind: child.metadata.uid for kind, child in connectors.children("files").items()}
    for kind in ("service", "configmap", "networkpolicy"):
        kubectl.run("delete", kind, "files-runtime", "-n", namespace)
    kubectl.run("scale", "deployment", "files-runtime", "-n", namespace, "--replicas=3")

    def restored() -> bool:
        children = connectors.children("files")
        return (
            all(child is not None for child in children.values())
            and children["Deployment"].spec.replicas == 1
            and all(children[k].metadata.uid != original[k] for k in ("Service", "ConfigMap", "NetworkPolicy"))
        )

    wait_for(restored, timeout=TIMEOUT, what="the children restored")
    assert connectors.children("files")["Secret"].metadata.uid == original["Secret"]
    connectors.wait_ready("files")


def test_deleting_the_connector_removes_its_children(connectors: Connectors, kubectl: Kubectl, namespace: str) -> None:
    connectors.create("files")
    connectors.wait_ready("files")
    kubectl.run("delete", "ic", "files", "-n", namespace, "--wait=true", "--timeout=30s")
    wait_for(
        lambda: all(child is None for child in connectors.children("files").values()),
        timeout=TIMEOUT,
        what="garbage collection of the children",
    )
    wait_for(lambda: not connectors.pods("files"), timeout=TIMEOUT, what="the pod gone")


def test_the_connector_can_be_deleted_while_the_operator_is_down(
    connectors: Connectors, kubectl: Kubectl, namespace: str, operator: OperatorProcess
) -> None:
    connectors.create("files")
    connectors.wait_ready("files")
    operator.stop(kill=True)
    kubectl.run("delete", "ic", "files", "-n", namespace, "--wait=true", "--timeout=30s")
    wait_for(
        lambda: all(child is None for child in connectors.children("files").values()),
        timeout=TIMEOUT,
        what="garbage collection without the operator",
    )


def test_an_operator_killed_mid_reconcile_converges_without_duplicates_or_lost_requests(
    connectors: Connectors, operator: OperatorProcess, namespace: str
) -> None:
    names = ["a", "b", "c"]
    data = {name: connectors.create(name) for name in names}
    wait_for(lambda: connectors.children("a")["ConfigMap"] is not None, timeout=TIMEOUT, what="work started")
    operator.stop(kill=True)
    connectors.annotate("a", REFRESH, "while-down")
    operator.start()
    for name in names:
        connectors.wait_ready(name)
    wait_for(
        lambda: connectors.status("a").get("lastHandledRefreshAt") == "while-down",
        timeout=TIMEOUT,
        what="the request made while the operator was down",
    )
    for name in names:
        wait_for(lambda n=name: connectors.running_pod(n) is not None, timeout=TIMEOUT, what=f"one pod for {name}")
        deployments = connectors.apps.list_namespaced_deployment(
            namespace, label_selector=f"app.kubernetes.io/instance={name}"
        ).items
        assert len(deployments) == 1
    count = _stable_refreshes(connectors, "a", data["a"])
    assert len(_event_messages(connectors, "a", "RefreshRequested")) == 1
    operator.stop()
    operator.start()
    wait_for(lambda: "watching" in operator.log().rsplit("metaferry-operator", 1)[-1], timeout=30)
    connectors.wait_ready("a")
    assert _stable_refreshes(connectors, "a", data["a"]) == count  # a restart repeats nothing
    assert len(_event_messages(connectors, "a", "RefreshRequested")) == 1


def test_a_killed_runtime_shows_as_not_ready_then_recovers(connectors: Connectors) -> None:
    connectors.create("files")
    connectors.wait_ready("files")
    pod = connectors.running_pod("files")
    pid = int(pod.status.container_statuses[0].container_id.rsplit("/", 1)[-1])
    ready_events = len(_event_messages(connectors, "files", "Ready"))
    os.killpg(pid, signal.SIGKILL)
    wait_for(
        lambda: any(e.type == "Warning" for e in connectors.events("files")[-3:]),
        timeout=TIMEOUT,
        what="a warning event for the dead runtime",
    )
    wait_for(
        lambda: len(_event_messages(connectors, "files", "Ready")) > ready_events, timeout=TIMEOUT, what="Ready again"
    )
    connectors.wait_ready("files")


def test_secrets_never_reach_status_events_or_operator_logs(
    connectors: Connectors, kubectl: Kubectl, namespace: str, operator: OperatorProcess
) -> None:
    kubectl.run("create", "secret", "generic", "creds", "-n", namespace, f"--from-literal=password={SECRET_VALUE}")
    connectors.create("files", secret="creds")
    connectors.wait_ready("files")
    connectors.annotate("files", REFRESH, "scan")
    wait_for(lambda: connectors.status("files").get("lastHandledRefreshAt") == "scan", timeout=TIMEOUT)
    token = connectors.core.read_namespaced_secret("files-runtime", namespace).data["token"]
    clear_token = base64.b64decode(token).decode()
    surfaces = {
        "status": json.dumps(connectors.get("files")),
        "events": json.dumps([e.message for e in connectors.events("files")]),
        "describe": kubectl.run("describe", "ic", "files", "-n", namespace).stdout,
        "operator log": operator.log(),
    }
    for where, text in surfaces.items():
        assert SECRET_VALUE not in text, where
        assert clear_token not in text, where


def test_an_archive_the_fail_safe_refused_warns_keeps_the_connector_ready_and_is_confirmed_by_annotation(
    connectors: Connectors,
) -> None:
    data = connectors.directory / "files"
    data.mkdir()
    for i in range(4):
        (data / f"{i}.csv").write_text("id\n")
    connectors.create("files", connector="directory-monitor", deletionDetection={"maxArchivePercent": 30})
    connectors.wait_ready("files")
    wait_for(lambda: _refresh_count(connectors, "files") >= 1, timeout=TIMEOUT, what="the refresh at start")
    for i in range(3):
        (data / f"{i}.csv").unlink()
    connectors.annotate("files", REFRESH, "after-deleting")
    refused = wait_for(
        lambda: connectors.status("files").get("archiveRefused"), timeout=TIMEOUT, what="status.archiveRefused"
    )
    assert (refused["wouldArchive"], refused["inScope"], refused["maxArchivePercent"]) == (3, 4, 30)
    status = connectors.status("files")
    assert (status["connectorStatus"], status["phase"], connectors.ready("files")) == ("WAITING", "Running", True)
    assert status.get("failedRefreshCount", 0) == 0 and status.get("restartCount", 0) == 0
    [warning] = wait_for(
        lambda: _event_messages(connectors, "files", "ArchiveRefused"), timeout=TIMEOUT, what="an ArchiveRefused event"
    )
    assert "refused to archive 3 of the 4" in warning and CONFIRM_ARCHIVE in warning

    connectors.annotate("files", CONFIRM_ARCHIVE, "2030-01-01T00:00:00Z")
    wait_for(
        lambda: (
            (s := connectors.status("files")).get("lastHandledConfirmArchiveAt") == "2030-01-01T00:00:00Z"
            and "archiveRefused" not in s
            and (s.get("statistics") or {}).get("archived") == 3
        ),
        timeout=TIMEOUT,
        what="the confirmed refresh archived the 3 files and the refusal is gone",
    )
