"""The `metaferry` command line against the real control plane: refresh --wait, restart, suspend, status, check,
logs.

Commands run in-process through `metaferry_cli.main.main` (the user's kubeconfig is the control plane's),
except where a second actor must act while one waits, and the kubectl plugin path, which run as processes.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, cast

import pytest
import yaml
from kubernetes import client

from metaferry_cli.main import main
from tests.cluster.control_plane import ControlPlane
from tests.operator.conftest import Kubectl, OperatorProcess
from tests.operator.test_operator import REFRESH, SECRET_VALUE, TIMEOUT, Connectors
from tests.waiting import wait_for

pytestmark = pytest.mark.cluster


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


@pytest.fixture
def cli(control_plane: ControlPlane, namespace: str, capsys: pytest.CaptureFixture[str]) -> Any:
    """`metaferry ARGS -n NAMESPACE` in-process: (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main([*args, "-n", namespace, "--kubeconfig", str(control_plane.kubeconfig)])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def cli_process(control_plane: ControlPlane, namespace: str, *args: str) -> subprocess.Popen[str]:
    """`metaferry ARGS -n NAMESPACE -o json` as a process, for a command that waits while the test acts."""
    return subprocess.Popen(
        [sys.executable, "-m", "metaferry_cli.main", *args, "-n", namespace, "-o", "json"],
        env={**os.environ, **control_plane.env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_refresh_wait_prints_the_result_and_exits_0_then_1_when_it_fails(connectors: Connectors, cli: Any) -> None:
    data = connectors.create("files", properties={"refreshDelay": 1})
    connectors.wait_ready("files")

    code, out, err = cli("refresh", "files", "--wait", "--timeout", "90s")
    assert code == 0, err
    requested = connectors.status("files")["lastRequestedRefresh"]
    assert f"refresh {requested['refreshId']} Succeeded" in out
    assert f"{REFRESH}={requested['requestedAt']}" in out and "0 created" in out
    assert "waiting for the operator" in err or "is running" in err, "progress is shown while waiting"

    (data / "fail-refresh").write_text("")
    code, out, _ = cli("refresh", "files", "--wait", "-o", "json")
    assert code == 1
    document = json.loads(out)
    assert document["result"] == "Failed" and document["name"] == "files"
    assert "the test asked this refresh to fail" in document["message"]
    assert document["refreshId"] != requested["refreshId"]


def test_a_newer_request_supersedes_the_one_a_refresh_wait_waits_for(
    connectors: Connectors, control_plane: ControlPlane, namespace: str
) -> None:
    connectors.create("files", properties={"refreshDelay": 6})
    connectors.wait_ready("files")
    waiting = cli_process(control_plane, namespace, "refresh", "files", "--wait")
    wait_for(
        lambda: (connectors.get("files")["metadata"].get("annotations") or {}).get(REFRESH),
        timeout=TIMEOUT,
        what="the CLI's request",
    )
    connectors.annotate("files", REFRESH, "newer")
    out, err = waiting.communicate(timeout=TIMEOUT)
    assert waiting.returncode == 1, err
    assert json.loads(out)["result"] == "Superseded"


def test_suspend_refuses_a_refresh_and_resume_allows_it_again(connectors: Connectors, cli: Any) -> None:
    connectors.create("files")
    connectors.wait_ready("files")
    code, out, _ = cli("suspend", "files")
    assert code == 0 and out.strip().endswith("files suspended")
    assert connectors.get("files")["spec"]["suspend"] is True
    code, _, err = cli("refresh", "files", "--wait")
    assert code == 2 and "is suspended: `metaferry resume files` first" in err
    code, _, _ = cli("resume", "files")
    assert code == 0 and connectors.get("files")["spec"]["suspend"] is False
    assert cli("refresh", "files", "--wait")[0] == 0


def test_restart_wait_returns_once_the_restarted_connector_is_ready(connectors: Connectors, cli: Any) -> None:
    connectors.create("files")
    connectors.wait_ready("files")
    code, out, err = cli("restart", "files", "--wait", "-o", "yaml")
    assert code == 0, err
    document = yaml.safe_load(out)
    assert document["status"]["lastHandledRestartAt"] == document["restartedAt"]
    assert connectors.status("files")["lastHandledRestartAt"] == document["restartedAt"]


def test_status_tells_conditions_refreshes_and_events(connectors: Connectors, cli: Any, namespace: str) -> None:
    connectors.create("files")
    connectors.wait_ready("files")
    assert cli("refresh", "files", "--wait")[0] == 0

    code, out, _ = cli("status", "files")
    assert code == 0
    assert f"Namespace:         {namespace}" in out and "Phase:             Running" in out
    assert "Ready=True" in out and "-> Succeeded" in out
    assert "RequestedRefreshSucceeded" in out, "recent Events are shown"

    document = yaml.safe_load(cli("status", "files", "-o", "yaml")[1])
    assert document["name"] == "files" and document["status"]["phase"] == "Running"
    assert document["status"]["lastRequestedRefresh"]["result"] == "Succeeded"
    assert any(event["reason"] == "RequestedRefreshSucceeded" for event in document["events"])

    code, table, _ = cli("status")
    assert code == 0 and table.splitlines()[0].split()[:3] == ["NAME", "SERVICE", "CONNECTOR"]
    assert table.splitlines()[1].split()[0] == "files"
    code, everywhere, _ = cli("status", "-A")
    assert everywhere.splitlines()[0].startswith("NAMESPACE") and namespace in everywhere

    code, _, err = cli("status", "no-such-connector")
    assert code == 2 and f"no IntegrationConnector 'no-such-connector' in namespace '{namespace}'" in err


def test_check_runs_in_a_pod_like_the_connectors_and_reports_each_step(
    connectors: Connectors, cli: Any, kubectl: Kubectl, namespace: str, k8s_client: client.ApiClient
) -> None:
    kubectl.run("create", "secret", "generic", "creds", "-n", namespace, f"--from-literal=password={SECRET_VALUE}")
    data = connectors.create("files", secret="creds")
    connectors.wait_ready("files")
    running = connectors.running_pod("files").metadata.name
    core = client.CoreV1Api(k8s_client)

    def check_pods() -> list[Any]:
        return list(core.list_namespaced_pod(namespace, label_selector="app.kubernetes.io/component=check").items)

    code, out, err = cli("check", "files", "--timeout", "2m")
    assert code == 0, out + err
    assert "ok    secrets          1 secured properties" in out, "the Secret is mounted as in the connector's pod"
    assert any(line.startswith("ok    dry-run refresh") for line in out.splitlines())
    assert out.splitlines()[-1] == "check Succeeded"
    assert SECRET_VALUE not in out + err
    wait_for(lambda: not check_pods(), timeout=TIMEOUT, what="the check Pod to be deleted")
    assert connectors.running_pod("files").metadata.name == running, "the connector's own pod is left alone"

    (data / "fail-refresh").write_text("")
    code, out, _ = cli("check", "files", "-o", "json", "--keep")
    assert code == 1
    document = json.loads(out)
    assert document["passed"] is False
    assert document["steps"][-1]["name"] == "dry-run refresh" and not document["steps"][-1]["ok"]
    assert "the test asked this refresh to fail" in document["steps"][-1]["detail"]
    (kept,) = check_pods()
    assert kept.metadata.name == document["pod"] and kept.status.phase == "Failed"
    assert kept.metadata.owner_references[0].kind == "IntegrationConnector"

    code, _, err = cli("check", "nothing-here")
    assert code == 2 and f"no IntegrationConnector 'nothing-here' in namespace {namespace!r}" in err


def test_logs_shows_the_pods_audit_records_and_follows_new_ones(
    connectors: Connectors, cli: Any, control_plane: ControlPlane, namespace: str
) -> None:
    data = connectors.create("files")
    connectors.wait_ready("files")
    assert cli("refresh", "files", "--wait")[0] == 0
    refresh_id = connectors.status("files")["lastRequestedRefresh"]["refreshId"]

    code, out, err = cli("logs", "files")
    assert code == 0, err
    completed = [line for line in out.splitlines() if "METAFERRY-RUNTIME-0007" in line and refresh_id in line]
    assert len(completed) == 1 and "Information" in completed[0]
    assert all("  METAFERRY-RUNTIME-" in line for line in out.splitlines() if line and not line.startswith(" "))
    code, out, _ = cli("logs", "files", "-o", "json", "--severity", "Information")
    records = json.loads(out)
    assert records and all(r["severity"] == "Information" and r["messageId"] for r in records)
    assert any(r["messageId"] == "METAFERRY-RUNTIME-0006" and refresh_id in r["text"] for r in records)
    assert cli("logs", "files", "--tail", "1", "-o", "json", "--all")[1].count('"time"') == 1

    following = cli_process(control_plane, namespace, "logs", "files", "-f")
    try:
        (data / "fail-refresh").write_text("")
        assert cli("refresh", "files", "--wait")[0] == 1
        failed = connectors.status("files")["lastRequestedRefresh"]["refreshId"]
        assert following.stdout is not None
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in following.stdout or []], daemon=True).start()

        def failure_followed() -> dict[str, Any] | None:
            while not lines.empty():
                record = json.loads(lines.get())
                if record.get("messageId") == "METAFERRY-RUNTIME-0008" and failed in record["text"]:
                    return cast(dict[str, Any], record)
            return None

        record = wait_for(failure_followed, timeout=TIMEOUT, what="the failed refresh's record, followed")
        assert record["severity"] == "Exception"
    finally:
        following.terminate()
        following.wait(timeout=30)

    code, _, err = cli("logs", "nothing-here")
    assert code == 2 and "no IntegrationConnector 'nothing-here'" in err


def test_kubectl_runs_it_as_a_plugin(connectors: Connectors, kubectl: Kubectl, namespace: str) -> None:
    connectors.create("files")
    connectors.wait_ready("files")
    plugin = Path(sys.executable).parent / "kubectl-metaferry"
    assert plugin.exists(), f"{plugin} is installed by `pip install -e .` (make dev)"
    path = f"{kubectl.plane.env['PATH']}{os.pathsep}{plugin.parent}"
    result = subprocess.run(
        ["kubectl", "metaferry", "status", "files", "-n", namespace, "-o", "json"],
        env={**kubectl.plane.env, "PATH": path},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"]["phase"] == "Running"
