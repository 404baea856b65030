"""How a requested refresh ended, in status and Events, against the real control plane.

The operator here polls its runtimes only every 10 minutes, so a result reaches status through the request
watch (a held ``GET /refresh-requests/{id}``) or the short poll kept while a requested refresh is unresolved.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from tests.cluster.control_plane import ControlPlane
from tests.operator.conftest import Kubectl, OperatorProcess
from tests.operator.test_operator import REFRESH, TIMEOUT, Connectors
from tests.waiting import wait_for

pytestmark = pytest.mark.cluster


@pytest.fixture
def operator(control_plane: ControlPlane, crd: str, namespace: str, tmp_path: Path) -> Iterator[OperatorProcess]:
    process = OperatorProcess(
        plane=control_plane,
        namespace=namespace,
        log_path=tmp_path / "operator.log",
        METAFERRY_STATUS_POLL_INTERVAL="600",
    )
    process.start()
    yield process
    process.stop()
    sys.stderr.write(f"\n--- operator log ---\n{process.log()[-4000:]}\n")


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


def _wait_jsonpath(kubectl: Kubectl, namespace: str, expression: str) -> None:
    kubectl.run(
        "wait",
        f"--for=jsonpath={expression}",
        "ic/files",
        "-n",
        namespace,
        f"--timeout={int(TIMEOUT)}s",
        timeout=TIMEOUT + 10,
    )


def _events(connectors: Connectors, reason: str) -> list[str]:
    return [e.message for e in connectors.events("files") if e.reason == reason]


def test_kubectl_wait_sees_a_requested_refresh_succeed_then_one_fail(
    connectors: Connectors, kubectl: Kubectl, namespace: str
) -> None:
    data = connectors.create("files", properties={"refreshDelay": 1})
    connectors.wait_ready("files")
    connectors.annotate("files", REFRESH, "first")
    _wait_jsonpath(kubectl, namespace, "{.status.lastRequestedRefresh.requestedAt}=first")
    _wait_jsonpath(kubectl, namespace, "{.status.lastRequestedRefresh.result}=Succeeded")
    requested = connectors.status("files")["lastRequestedRefresh"]
    assert requested["requestedAt"] == "first" and requested["refreshId"]
    assert requested["startedAt"] <= requested["finishedAt"]
    assert requested["statistics"]["created"] == 0 and "message" not in requested
    [told] = wait_for(lambda: _events(connectors, "RequestedRefreshSucceeded"), timeout=TIMEOUT, what="an Event")
    assert f"refresh {requested['refreshId']}" in told and f"{REFRESH}=first" in told

    (data / "fail-refresh").write_text("")
    connectors.annotate("files", REFRESH, "second")
    _wait_jsonpath(kubectl, namespace, "{.status.lastRequestedRefresh.requestedAt}=second")
    _wait_jsonpath(kubectl, namespace, "{.status.lastRequestedRefresh.result}=Failed")
    failed = connectors.status("files")["lastRequestedRefresh"]
    assert "the test asked this refresh to fail" in failed["message"]
    assert failed["refreshId"] != requested["refreshId"]
    [warning] = wait_for(lambda: _events(connectors, "RequestedRefreshFailed"), timeout=TIMEOUT, what="a Warning")
    assert f"{REFRESH}=second" in warning and "the test asked this refresh to fail" in warning


def test_a_request_handled_before_the_previous_one_ended_supersedes_it(
    connectors: Connectors, kubectl: Kubectl, namespace: str
) -> None:
    connectors.create("files", properties={"refreshDelay": 6})
    connectors.wait_ready("files")
    connectors.annotate("files", REFRESH, "older")  # queued behind the 6 s refresh at start: 6-12 s to go
    _wait_jsonpath(kubectl, namespace, "{.status.lastRequestedRefresh.requestedAt}=older")
    assert "result" not in connectors.status("files")["lastRequestedRefresh"], "its 6 s refresh is still running"
    connectors.annotate("files", REFRESH, "newer")
    _wait_jsonpath(kubectl, namespace, "{.status.lastRequestedRefresh.requestedAt}=newer")
    [superseded] = wait_for(
        lambda: _events(connectors, "RequestedRefreshSuperseded"), timeout=TIMEOUT, what="a Superseded Event"
    )
    assert f"{REFRESH}=older was superseded by {REFRESH}=newer" in superseded
    _wait_jsonpath(kubectl, namespace, "{.status.lastRequestedRefresh.result}=Succeeded")
    wait_for(lambda: _events(connectors, "RequestedRefreshSucceeded"), timeout=TIMEOUT, what="a Succeeded Event")
    assert not _events(connectors, "RequestedRefreshFailed")


def test_an_operator_started_while_a_requested_refresh_runs_still_reports_how_it_ended(
    connectors: Connectors, kubectl: Kubectl, namespace: str, operator: OperatorProcess
) -> None:
    connectors.create("files", properties={"refreshDelay": 8})
    connectors.wait_ready("files")
    connectors.annotate("files", REFRESH, "across-a-restart")
    _wait_jsonpath(kubectl, namespace, "{.status.lastRequestedRefresh.requestedAt}=across-a-restart")
    operator.stop(kill=True)  # the request is in status without a result; nothing watches it now
    assert "result" not in connectors.status("files")["lastRequestedRefresh"]
    operator.start()  # its status poll is 600 s: only the unresolved request's watch can tell the result
    _wait_jsonpath(kubectl, namespace, "{.status.lastRequestedRefresh.result}=Succeeded")
    assert connectors.status("files")["lastRequestedRefresh"]["refreshId"]
