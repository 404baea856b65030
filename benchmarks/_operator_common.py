"""Shared by the operator benchmarks: a control plane, a pod runner, the CRD, and the operator process.

Not a benchmark itself. Everything runs on this machine: the same control plane and pod runner the
cluster tests use (``tests/cluster``), so the scripts need ``scripts/install-test-tools.sh`` first.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kubernetes import client, config

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

from _common import percentile, table  # noqa: E402,F401  (re-exported for the operator benchmarks)

from tests.cluster import tools  # noqa: E402
from tests.cluster.control_plane import ControlPlane, free_port, running  # noqa: E402
from tests.cluster.pod_runner import PodRunner  # noqa: E402
from tests.waiting import wait_for  # noqa: E402  (re-exported for the operator benchmarks)

CRD = REPOSITORY / "crds" / "integrationconnectors.metaferry.io.yaml"


@contextlib.contextmanager
def cluster(*, mode: str) -> Iterator[tuple[ControlPlane, client.ApiClient, PodRunner]]:
    with (
        tempfile.TemporaryDirectory(prefix="metaferry-bench-") as work,
        running(bin_dir=tools.bin_dir(), workdir=Path(work)) as plane,
    ):
        api = config.new_client_from_config(config_file=str(plane.kubeconfig))
        runner = PodRunner(api, work_dir=Path(work) / "pods", mode=mode)  # type: ignore[arg-type]
        runner.start()
        try:
            kubectl(plane, "apply", "--server-side", "-f", str(CRD))
            kubectl(plane, "wait", "--for=condition=Established", "crd/integrationconnectors.metaferry.io")
            yield plane, api, runner
        finally:
            runner.stop()
            api.close()


def kubectl(plane: ControlPlane, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        ["kubectl", *args], input=stdin, capture_output=True, text=True, env=plane.env, check=True, timeout=600
    )
    return result.stdout


def create_namespace(api: client.ApiClient, name: str) -> None:
    core = client.CoreV1Api(api)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    wait_for(lambda: _service_account(core, name), timeout=60, what="default service account")


def _service_account(core: client.CoreV1Api, namespace: str) -> bool:
    try:
        core.read_namespaced_service_account("default", namespace)
        return True
    except client.ApiException:
        return False


class Operator:
    def __init__(self, plane: ControlPlane, *, namespace: str, log: Path, **settings: str) -> None:
        env = {
            **plane.env,
            "METAFERRY_WATCH_NAMESPACES": namespace,
            "METAFERRY_HEALTH_PORT": str(free_port()),
            "METAFERRY_METRICS_PORT": str(free_port()),
            "METAFERRY_LISTEN_HOST": "127.0.0.1",
            **settings,
        }
        self.log_path = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "metaferry_operator.cli", "run"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def peak_rss_mib(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)


def manifest(name: str, namespace: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "metaferry.io/v1alpha1",
        "kind": "IntegrationConnector",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "integrationService": "files",
            "connector": "directory-monitor",
            "connection": {"endpoint": "/data"},
            **spec,
        },
    }
