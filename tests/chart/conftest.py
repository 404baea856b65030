"""Fixtures for the static chart tests: the helm binary and rendering the chart, with no cluster.

helm comes from ``scripts/install-test-tools.sh`` (the same binary the end-to-end tests use), found
without the control-plane binaries: ``METAFERRY_HELM`` if set, else ``$METAFERRY_TOOLS_BIN/helm``,
else ``$METAFERRY_TOOLS_DIR/current/bin/helm`` (default ``~/.cache/metaferry/tools``), else ``helm`` on
PATH. A missing helm fails the test with the command that installs it; it never skips.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cluster import tools

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "metaferry"
KUBE_VERSION = "1.37.0"  # the control plane the tests build (tests/cluster/kube/go.mod: v1.37.x)
RELEASE = "metaferry"
RELEASE_NAMESPACE = "metaferry-system"
SERVICE_MONITOR_API = "monitoring.coreos.com/v1/ServiceMonitor"

Manifest = dict[str, Any]

# The value sets the chart is tested with: the default install (bundled PostgreSQL and the catalogue) and the
# other supported shapes, each repository mode among them.
VALUE_SETS: dict[str, list[str]] = {
    "default": [],
    "per-pod-sqlite": ["--set", "repository.mode=perPod"],
    "namespaced-rbac": ["--set-json", 'watchNamespaces=["team-a","team-b"]'],
    "high-availability": ["--set", "highAvailability.enabled=true", "--set", "podDisruptionBudget.enabled=true"],
    "postgresql-servicemonitor": [
        "--set",
        "repository.mode=external",
        "--set",
        "repository.existingSecret=metaferry-repository",
        "--set",
        "metrics.serviceMonitor.enabled=true",
        "--set-json",
        'metrics.serviceMonitor.additionalLabels={"release":"prometheus"}',
        "--api-versions",
        SERVICE_MONITOR_API,
    ],
}


def find_helm() -> Path | None:
    candidates = [os.environ.get("METAFERRY_HELM")]
    if os.environ.get("METAFERRY_TOOLS_BIN"):
        candidates.append(str(Path(os.environ["METAFERRY_TOOLS_BIN"]) / "helm"))
    candidates.append(str(tools.tools_root() / "current" / "bin" / "helm"))
    candidates.append(shutil.which("helm"))
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return Path(candidate)
    return None


class Helm:
    """Runs helm with a private home directory, so no user repositories or plugins leak in."""

    def __init__(self, binary: Path, home: Path) -> None:
        self.binary = binary
        self.env = {
            **os.environ,
            "HELM_CACHE_HOME": str(home / "cache"),
            "HELM_CONFIG_HOME": str(home / "config"),
            "HELM_DATA_HOME": str(home / "data"),
        }
        self.env.pop("KUBECONFIG", None)

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(self.binary), *args], env=self.env, capture_output=True, text=True, timeout=120, check=False
        )
        if check and result.returncode != 0:
            raise AssertionError(f"helm {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result

    def template(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run(
            "template",
            RELEASE,
            str(CHART),
            "--namespace",
            RELEASE_NAMESPACE,
            "--kube-version",
            KUBE_VERSION,
            *args,
            check=check,
        )


@pytest.fixture(scope="session")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    binary = find_helm()
    if binary is None:
        pytest.fail(
            f"helm not found (METAFERRY_HELM, METAFERRY_TOOLS_BIN, {tools.tools_root()}/current/bin, PATH): "
            f"{tools.INSTALL_HINT}",
            pytrace=False,
        )
    return Helm(binary, tmp_path_factory.mktemp("helm-home"))


def documents(text: str) -> list[Manifest]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


@pytest.fixture(scope="session")
def render(helm: Helm) -> Callable[[Sequence[str]], list[Manifest]]:
    """Render the chart with extra helm arguments; returns the manifests (test hooks included)."""
    cache: dict[tuple[str, ...], list[Manifest]] = {}

    def _render(args: Sequence[str] = ()) -> list[Manifest]:
        key = tuple(args)
        if key not in cache:
            cache[key] = documents(helm.template(*args).stdout)
        return cache[key]

    return _render


def find(manifests: list[Manifest], kind: str, name: str | None = None, namespace: str | None = None) -> list[Manifest]:
    return [
        m
        for m in manifests
        if m["kind"] == kind
        and (name is None or m["metadata"]["name"] == name)
        and (namespace is None or m["metadata"].get("namespace") == namespace)
    ]


def one(manifests: list[Manifest], kind: str, name: str | None = None, namespace: str | None = None) -> Manifest:
    found = find(manifests, kind, name, namespace)
    assert len(found) == 1, f"expected one {kind} {name or ''} {namespace or ''}, found {len(found)}"
    return found[0]
