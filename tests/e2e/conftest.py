"""End-to-end helpers: the user's CLIs (helm, kubectl) against the test control plane.

Everything a test does to the cluster goes through the real ``helm`` and ``kubectl`` binaries with
``control_plane.env`` (our tools first on PATH, KUBECONFIG, a private helm home), exactly as the chart
README tells a user to type it. The pod runner runs every pod the operator and the chart create as a
local process with its own service-account token, so the chart's RBAC is all the operator has.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from metaferry_runtime.repository import MetadataRepository, open_repository
from tests.cluster.control_plane import ControlPlane
from tests.cluster.pod_runner import PodRunner
from tests.postgres_server import create_database, drop_database
from tests.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "metaferry"
EXAMPLES = REPO / "examples"
RELEASE = "metaferry"
RELEASE_NAMESPACE = "metaferry-system"
OPERATOR_SELECTOR = (
    "app.kubernetes.io/name=metaferry,app.kubernetes.io/instance=metaferry,app.kubernetes.io/component=operator"
)
PART_OF = "app.kubernetes.io/part-of=metaferry"
REFRESH_ANNOTATION = "metaferry.io/refresh-requested-at"
# Values every e2e install sets: a short status poll keeps the tests quick on a 2-core machine.
TEST_VALUES = ["--set", "operator.statusPollInterval=2", "--set", "operator.logFormat=text"]
# A repository the test provides (its URL in the Secret metaferry-repository), as a platform team would.
EXTERNAL_REPOSITORY = ["--set", "repository.mode=external", "--set", "repository.existingSecret=metaferry-repository"]
STARTUP_TIMEOUT = 240.0
READY_TIMEOUT = 240.0

Json = dict[str, Any]


class Cli:
    """kubectl and helm as a user runs them; failures show the command and both output streams."""

    def __init__(self, plane: ControlPlane, runner: PodRunner) -> None:
        self.plane = plane
        self.runner = runner
        self.env = plane.env

    def run(self, *argv: str, check: bool = True, timeout: float = 300.0) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            list(argv), env=self.env, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"$ {' '.join(argv)}\nexit {result.returncode}\n--- stdout\n{result.stdout}"
                f"\n--- stderr\n{result.stderr}\n{self.operator_logs()}"
            )
        return result

    def kubectl(self, *args: str, check: bool = True, timeout: float = 300.0) -> subprocess.CompletedProcess[str]:
        return self.run("kubectl", *args, check=check, timeout=timeout)

    def helm(self, *args: str, check: bool = True, timeout: float = 600.0) -> subprocess.CompletedProcess[str]:
        return self.run("helm", *args, check=check, timeout=timeout)

    def get(self, *args: str) -> Json | None:
        """``kubectl get ... -o json``; None when the object does not exist."""
        result = self.kubectl("get", *args, "-o", "json", "--ignore-not-found", check=True)
        text = result.stdout.strip()
        return json.loads(text) if text else None

    def names(self, *args: str) -> list[str]:
        return self.kubectl("get", *args, "-o", "name").stdout.split()

    def operator_pods(self, namespace: str = RELEASE_NAMESPACE) -> list[Json]:
        found = self.get("pods", "-n", namespace, "-l", OPERATOR_SELECTOR)
        return list(found["items"]) if found else []

    def operator_logs(self, namespace: str = RELEASE_NAMESPACE, lines: int = 60) -> str:
        parts = []
        directory = self.runner.log_dir / namespace
        for path in sorted(directory.glob("*/*.log")):
            tail = "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
            parts.append(f"==> pod {path.parent.name}, container {path.stem} <==\n{tail}")
        return "\n".join(parts) or f"(no pod logs under {directory})"

    def connector_logs(self, namespace: str, lines: int = 40) -> str:
        return self.operator_logs(namespace, lines)


@pytest.fixture(scope="session")
def cli(control_plane: ControlPlane, pod_runner: PodRunner) -> Cli:
    for tool in ("helm", "kubectl"):
        found = shutil.which(tool, path=control_plane.env["PATH"])
        assert found and Path(found).parent == control_plane.bin_dir, f"{tool} resolves to {found}"
    return Cli(control_plane, pod_runner)


def now_token() -> str:
    """What `date -Is` prints: local time, seconds, with the offset."""
    return datetime.now(UTC).astimezone().isoformat(timespec="seconds")


def condition(obj: Json | None, kind: str) -> Json | None:
    for item in ((obj or {}).get("status") or {}).get("conditions") or []:
        if item.get("type") == kind:
            return dict(item)
    return None


def install_args(*extra: str, namespace: str = RELEASE_NAMESPACE, create_namespace: bool = True) -> list[str]:
    """The README's install command, plus the test values."""
    args = ["install", RELEASE, "charts/metaferry", "-n", namespace]
    if create_namespace:
        args.append("--create-namespace")
    return [*args, *TEST_VALUES, *extra, "--wait", "--timeout", f"{int(STARTUP_TIMEOUT)}s"]


def wait_operator_running(cli: Cli, namespace: str = RELEASE_NAMESPACE) -> Json:
    """The operator pod is Ready (its liveness endpoint answers) and has logged its start."""

    def ready() -> Json | None:
        for pod in cli.operator_pods(namespace):
            if pod["metadata"].get("deletionTimestamp"):
                continue
            if condition(pod, "Ready") and condition(pod, "Ready")["status"] == "True":  # type: ignore[index]
                return pod
        return None

    try:
        return wait_for(ready, timeout=STARTUP_TIMEOUT, interval=0.5, what="a Ready operator pod")
    except TimeoutError as error:
        raise AssertionError(f"{error}\n{cli.operator_logs(namespace)}") from None


@contextlib.contextmanager
def installed(
    cli: Cli, *extra: str, namespace: str = RELEASE_NAMESPACE, create_namespace: bool = True
) -> Iterator[subprocess.CompletedProcess[str]]:
    """`helm install` now, and on exit delete leftover connectors, `helm uninstall` and drop the namespace."""
    result = cli.helm(*install_args(*extra, namespace=namespace, create_namespace=create_namespace))
    try:
        yield result
    finally:
        # Connectors first, while the operator runs to remove its finalizers; then the release.
        cli.kubectl("delete", "ic", "--all", "-A", "--wait=true", "--timeout=120s", check=False)
        cli.kubectl("delete", "pod", f"{RELEASE}-test", "-n", namespace, "--ignore-not-found", check=False)
        cli.helm("uninstall", RELEASE, "-n", namespace, "--wait", "--timeout", "180s", check=False)
        cli.kubectl(
            "delete", "namespace", namespace, "--wait=true", "--timeout=180s", "--ignore-not-found", check=False
        )


@contextlib.contextmanager
def installed_on_external_repository(
    cli: Cli, repository_url: str, *extra: str, connector_namespace: str
) -> Iterator[subprocess.CompletedProcess[str]]:
    """`installed` with `repository.mode=external` on `repository_url` (the Secret it names created first in
    the release's namespace), and the namespace the test's connectors go in."""
    cli.kubectl("create", "namespace", RELEASE_NAMESPACE)
    secret = [
        "secret",
        "generic",
        "metaferry-repository",
        "-n",
        RELEASE_NAMESPACE,
        f"--from-literal=url={repository_url}",
    ]
    cli.kubectl("create", *secret)
    with installed(cli, *EXTERNAL_REPOSITORY, *extra, create_namespace=False) as result:
        cli.kubectl("create", "namespace", connector_namespace)
        yield result


@pytest.fixture(scope="module")
def catalogue(postgres_url: str) -> Iterator[str]:
    """A database of the test PostgreSQL for the module's release to use as its shared repository."""
    url = create_database(postgres_url)
    yield url
    drop_database(postgres_url, url)


@pytest.fixture(scope="module")
def repository(catalogue: str) -> Iterator[MetadataRepository]:
    """The release's repository, opened by the test to read what the connectors wrote."""
    repository = open_repository(catalogue)
    yield repository
    repository.close()


# Where connector data goes. The connector pod runs on this machine, so an absolute path works, but not
# under /tmp: the operator gives every connector pod an emptyDir at /tmp (its root filesystem is
# read-only), which hides the host's /tmp, and so pytest's tmp_path, from the connector.
POD_VISIBLE_TMP = Path("/var/tmp")


@pytest.fixture(scope="session")
def pod_visible_dirs() -> Iterator[Callable[[str], Path]]:
    """A factory of fresh directories that connector pods can read (removed at the end of the session)."""
    root = Path(tempfile.mkdtemp(prefix="metaferry-e2e-", dir=POD_VISIBLE_TMP))
    root.chmod(0o755)

    def make(name: str) -> Path:
        return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=root))

    try:
        yield make
    finally:
        shutil.rmtree(root, ignore_errors=True)


def files_connector(directory: Path, *, name: str = "sample-files") -> Path:
    """examples/files-connector.yaml with its endpoint pointed at a copy of the sample data.

    ``directory`` comes from ``pod_visible_dirs``; a copy keeps the repository clean.
    """
    data = directory / "sample-data"
    if not data.exists():
        shutil.copytree(EXAMPLES / "sample-data", data)
    manifest = yaml.safe_load((EXAMPLES / "files-connector.yaml").read_text())
    manifest["metadata"]["name"] = name
    manifest["spec"]["connection"]["endpoint"] = str(data)
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    return path


def helm_test(cli: Cli, namespace: str = RELEASE_NAMESPACE) -> tuple[subprocess.CompletedProcess[str], str]:
    """`helm test --logs`, as the README says, and the selftest pod's log that helm printed.

    helm reads the finished test pod's log through the API server's ``pods/log``, which the pod runner's
    kubelet endpoint serves (tests/cluster/README.md).
    """
    result = cli.helm("test", RELEASE, "-n", namespace, "--timeout", "300s", "--logs", check=False)
    _, marker, logs = result.stdout.partition(f"POD LOGS: {RELEASE}-test")
    return result, logs if marker else ""


def wait_connector_ready(cli: Cli, namespace: str, name: str, timeout: float = READY_TIMEOUT) -> None:
    """`kubectl wait --for=condition=Ready ic/NAME`, as the README says."""
    result = cli.kubectl(
        "wait",
        "--for=condition=Ready",
        f"ic/{name}",
        "-n",
        namespace,
        f"--timeout={int(timeout)}s",
        check=False,
        timeout=timeout + 30,
    )
    if result.returncode != 0:
        status = cli.get(f"ic/{name}", "-n", namespace)
        raise AssertionError(
            f"ic/{name} not Ready: {result.stderr}\nstatus: {json.dumps((status or {}).get('status'))}"
            f"\n{cli.operator_logs()}\n{cli.connector_logs(namespace)}"
        )


def request_refresh(cli: Cli, namespace: str, name: str) -> str:
    token = now_token()
    cli.kubectl("annotate", "ic", name, "-n", namespace, f"{REFRESH_ANNOTATION}={token}", "--overwrite")
    return token


def wait_refresh_handled(cli: Cli, namespace: str, name: str, token: str, timeout: float = READY_TIMEOUT) -> Json:
    def handled() -> Json | None:
        obj = cli.get(f"ic/{name}", "-n", namespace)
        status = (obj or {}).get("status") or {}
        return status if status.get("lastHandledRefreshAt") == token else None

    try:
        return wait_for(handled, timeout=timeout, interval=0.5, what=f"refresh {token} handled")
    except TimeoutError as error:
        raise AssertionError(f"{error}\n{cli.operator_logs()}\n{cli.connector_logs(namespace)}") from None


def leftovers(cli: Cli, namespaces: Sequence[str]) -> list[str]:
    """Every object of ours (label part-of=metaferry) still in these namespaces or cluster-wide."""
    kinds = (
        "deployments,replicasets,pods,services,configmaps,secrets,serviceaccounts,roles,rolebindings,"
        "networkpolicies,poddisruptionbudgets"
    )
    found = cli.names("clusterroles,clusterrolebindings", "-l", PART_OF)
    for namespace in namespaces:
        if cli.get("namespace", namespace) is not None:
            found += [f"{namespace}/{n}" for n in cli.names(kinds, "-n", namespace, "-l", PART_OF)]
    return found


def wait_gone(check: Callable[[], list[str]], what: str, timeout: float = 120.0) -> None:
    last: list[str] = []

    def empty() -> bool:
        nonlocal last
        last = check()
        return not last

    try:
        wait_for(empty, timeout=timeout, interval=0.5, what=what)
    except TimeoutError:
        raise AssertionError(f"{what}: still there after {timeout:g}s: {last}") from None
