"""Fixtures for the operator's cluster tests: the CRD installed, kubectl, and the operator as a process.

The operator runs as ``metaferry-operator run`` in a subprocess with the control plane's kubeconfig,
watching only the test's namespace, so a test can kill and restart it and scan its log. Connector pods
are run by the session's pod runner with the real runtime.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cluster.control_plane import ControlPlane
from tests.waiting import wait_for

REPOSITORY = Path(__file__).parents[2]
CRDS = REPOSITORY / "crds"
CRD_FILE = CRDS / "integrationconnectors.metaferry.io.yaml"


class Kubectl:
    def __init__(self, plane: ControlPlane) -> None:
        self.plane = plane

    def run(
        self, *args: str, stdin: str | None = None, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["kubectl", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.plane.env,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "-o", "json").stdout)

    def apply(
        self, manifest: dict[str, Any] | str, *flags: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        text = manifest if isinstance(manifest, str) else json.dumps(manifest)
        return self.run("apply", *flags, "-f", "-", stdin=text, check=check)


@pytest.fixture(scope="session")
def kubectl(control_plane: ControlPlane) -> Kubectl:
    return Kubectl(control_plane)


@pytest.fixture(scope="session")
def crd(kubectl: Kubectl) -> str:
    """The CRD with its admission policy (both from crds/), once the API server enforces both."""
    kubectl.run("apply", "--server-side", "--force-conflicts", "-f", str(CRDS))
    kubectl.run("wait", "--for=condition=Established", "--timeout=60s", "crd/integrationconnectors.metaferry.io")
    _wait_for_the_policy(kubectl)
    return "integrationconnectors.metaferry.io"


def _wait_for_the_policy(kubectl: Kubectl) -> None:
    """A new policy takes effect a moment after it is created: wait until it refuses a repeated target."""
    probe = {
        "apiVersion": "metaferry.io/v1alpha1",
        "kind": "IntegrationConnector",
        "metadata": {"name": "policy-probe", "namespace": "default"},
        "spec": {"integrationService": "files", "connector": "directory-monitor", "catalogTargets": ["/a", "/a"]},
    }

    def refused() -> bool:
        result = kubectl.apply(probe, "--dry-run=server", check=False)
        return result.returncode != 0 and "must not name the same target twice" in result.stderr

    wait_for(refused, timeout=60, what="the catalogTargets admission policy to be in force")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class OperatorProcess:
    """``metaferry-operator run`` watching one namespace; its output goes to a log file."""

    def __init__(self, *, plane: ControlPlane, namespace: str, log_path: Path, **settings: str) -> None:
        self.log_path = log_path
        self.metrics_port = _free_port()
        self.env = {
            **plane.env,
            "METAFERRY_WATCH_NAMESPACES": namespace,
            "METAFERRY_STATUS_POLL_INTERVAL": "1",
            "METAFERRY_HTTP_TIMEOUT": "2",
            "METAFERRY_HEALTH_PORT": str(_free_port()),
            "METAFERRY_METRICS_PORT": str(self.metrics_port),
            "METAFERRY_LISTEN_HOST": "127.0.0.1",
            "METAFERRY_RUNTIME_IMAGE": "metaferry:test",
            **settings,
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "metaferry_operator.cli", "run", "--verbose"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()

    def stop(self, *, kill: bool = False) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@pytest.fixture
def data_dir(namespace: str) -> Iterator[Path]:
    """Outside /tmp: connector pods mount an emptyDir over /tmp, which would hide pytest's tmp_path."""
    path = Path("/var/tmp/metaferry-operator-tests") / namespace
    path.mkdir(parents=True)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def operator(
    control_plane: ControlPlane, crd: str, namespace: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[OperatorProcess]:
    process = OperatorProcess(plane=control_plane, namespace=namespace, log_path=tmp_path / "operator.log")
    process.start()
    yield process
    process.stop()
    if request.node.stash.get(_FAILED, False):
        sys.stderr.write(f"\n--- operator log ---\n{process.log()[-8000:]}\n")


_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.failed:
        item.stash[_FAILED] = True
        operator_process = getattr(item, "funcargs", {}).get("operator")
        if isinstance(operator_process, OperatorProcess):
            report.sections.append(("operator log", operator_process.log()[-8000:]))
    return report


__all__ = ["Kubectl", "OperatorProcess", "wait_for"]
