"""pytest plugin: a real Kubernetes control plane and a pod runner for the whole test session.

Loaded from the root ``tests/conftest.py`` (``pytest_plugins = ["tests.cluster.fixtures"]``). Nothing
starts until a test asks for one of these fixtures:

- ``control_plane``: etcd + kube-apiserver + kube-controller-manager (:class:`ControlPlane`: ``.kubeconfig``,
  ``.server``, ``.bin_dir``, ``.env`` for subprocesses running kubectl or helm);
- ``k8s_client``: a ``kubernetes.client.ApiClient`` authenticated as a cluster admin;
- ``pod_runner``: the node that runs pods as local processes (:class:`PodRunner`);
- ``fake_pod_runner``: a second node that only reports pods Running and Ready (for benchmarks); pods
  reach it with ``nodeSelector: {kubernetes.io/hostname: metaferry-fake-node}``;
- ``namespace``: a fresh namespace per test (its ``default`` service account exists), deleted after.

Missing binaries fail the test with the command that installs them; they never skip it. When a test
that used the cluster fails, the tails of the components' logs (and of its namespace's pods' logs)
are attached to its report.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from tests.cluster import tools
from tests.cluster.control_plane import ControlPlane, running
from tests.cluster.pod_runner import KubeletTls, PodRunner

__all__ = ["ControlPlane", "PodRunner"]

_PLANE = pytest.StashKey[ControlPlane]()
_RUNNER = pytest.StashKey[PodRunner]()
FAKE_NODE = "metaferry-fake-node"


@pytest.fixture(scope="session")
def control_plane(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    with running(bin_dir=_bin_dir_or_fail(), workdir=tmp_path_factory.mktemp("control-plane")) as plane:
        request.config.stash[_PLANE] = plane
        yield plane


def _bin_dir_or_fail() -> Path:
    """The tools' directory; a missing install fails the test (never skips it) and says how to fix it."""
    try:
        return tools.bin_dir()
    except tools.ToolsMissing as error:
        message = str(error)
    pytest.fail(message, pytrace=False)


def _api_client(plane: ControlPlane) -> client.ApiClient:
    api: client.ApiClient = config.new_client_from_config(  # type: ignore[no-untyped-call]
        config_file=str(plane.kubeconfig)
    )
    return api


@pytest.fixture(scope="session")
def k8s_client(control_plane: ControlPlane) -> Iterator[client.ApiClient]:
    api = _api_client(control_plane)
    yield api
    api.close()  # type: ignore[no-untyped-call]


@pytest.fixture(scope="session")
def pod_runner(request: pytest.FixtureRequest, control_plane: ControlPlane) -> Iterator[PodRunner]:
    api = _api_client(control_plane)
    pki = control_plane.pki
    tls = KubeletTls(cert=pki.serving_cert, key=pki.serving_key, ca=pki.ca_cert)  # served on 127.0.0.1
    runner = PodRunner(api, work_dir=control_plane.workdir / "pod-runner", kubelet_tls=tls)
    runner.start()
    request.config.stash[_RUNNER] = runner
    yield runner
    runner.stop()
    api.close()  # type: ignore[no-untyped-call]


@pytest.fixture(scope="session")
def fake_pod_runner(control_plane: ControlPlane) -> Iterator[PodRunner]:
    api = _api_client(control_plane)
    runner = PodRunner(
        api,
        work_dir=control_plane.workdir / "fake-pod-runner",
        mode="fake",
        node_name=FAKE_NODE,
        bind_unselected=False,
    )
    runner.start()
    yield runner
    runner.stop()
    api.close()  # type: ignore[no-untyped-call]


@pytest.fixture
def namespace(request: pytest.FixtureRequest, k8s_client: client.ApiClient) -> Iterator[str]:
    core = client.CoreV1Api(k8s_client)
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    name = f"{slug}-{uuid.uuid4().hex[:6]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    _wait_for_default_service_account(core, name)
    yield name
    try:
        core.delete_namespace(name)
    except ApiException as error:
        if error.status != 404:
            raise


def _wait_for_default_service_account(core: client.CoreV1Api, namespace: str, timeout: float = 30.0) -> None:
    """Pods are refused until the controller manager has made the namespace's ``default`` service account."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            core.read_namespaced_service_account("default", namespace)
            return
        except ApiException as error:
            if error.status != 404 or time.monotonic() > deadline:
                raise
        time.sleep(0.1)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    plane = item.config.stash.get(_PLANE, None)
    if report.failed and plane is not None and "control_plane" in getattr(item, "fixturenames", ()):
        report.sections.append(("control plane logs", plane.log_tails()))
        runner = item.config.stash.get(_RUNNER, None)
        funcargs = getattr(item, "funcargs", {})
        if runner is not None and isinstance(funcargs.get("namespace"), str):
            report.sections.append(("pod logs", _pod_log_tails(runner.log_dir / funcargs["namespace"])))
    return report


def _pod_log_tails(directory: Path, lines: int = 30) -> str:
    parts = []
    for path in sorted(directory.glob("*/*.log")):
        tail = "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        parts.append(f"==> {path.parent.name}/{path.stem} <==\n{tail}")
    return "\n\n".join(parts) or f"(no pod logs under {directory})"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    plane = config.stash.get(_PLANE, None)
    if plane is not None and plane.started_in is not None:
        terminalreporter.write_line(f"control plane ({plane.bin_dir}) started in {plane.started_in:.1f}s")
