"""examples/kubernetes-cluster-connector.yaml on the test cluster, with the chart's read-only ClusterRole
(`rbac.clusterReader`) instead of the example's: the connector pod reads the cluster with its ServiceAccount
and catalogues the cluster's own workloads, metaferry's operator Deployment among them.

The release uses a PostgreSQL repository the test can read, as in test_database_connector.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from metaferry_runtime.connectors.kubernetes_cluster.model import scope_prefix
from metaferry_runtime.repository import MetadataRepository
from tests.cluster.waiting import wait_for
from tests.e2e.conftest import (
    EXAMPLES,
    OPERATOR_SELECTOR,
    RELEASE,
    RELEASE_NAMESPACE,
    Cli,
    installed_on_external_repository,
    wait_connector_ready,
)

pytestmark = [pytest.mark.cluster, pytest.mark.postgres]

NAMESPACE = "cluster-catalogue"
CONNECTOR = "this-cluster"
ACCOUNT = "kubernetes-catalogue"


@pytest.fixture(scope="module")
def release(cli: Cli, catalogue: str) -> Iterator[None]:
    chart_rbac = [
        "--set",
        "rbac.clusterReader.create=true",
        "--set",
        f"rbac.clusterReader.serviceAccounts[0].name={ACCOUNT}",
        "--set",
        f"rbac.clusterReader.serviceAccounts[0].namespace={NAMESPACE}",
    ]
    with installed_on_external_repository(cli, catalogue, *chart_rbac, connector_namespace=NAMESPACE):
        try:
            yield
        finally:
            cli.kubectl("delete", "ic", "--all", "-n", NAMESPACE, "--wait=true", "--timeout=120s", check=False)
            cli.kubectl("delete", "namespace", NAMESPACE, "--wait=false", check=False)


def example_manifest(directory: Path) -> Path:
    """The example's ServiceAccount and connector only: the chart's ClusterRole and binding grant the reads."""
    documents = [d for d in yaml.safe_load_all((EXAMPLES / "kubernetes-cluster-connector.yaml").read_text()) if d]
    kept = [d for d in documents if d["kind"] in ("ServiceAccount", "IntegrationConnector")]
    assert {d["kind"] for d in documents} - {d["kind"] for d in kept} == {"ClusterRole", "ClusterRoleBinding"}
    connector = next(d for d in kept if d["kind"] == "IntegrationConnector")
    assert connector["spec"]["pod"]["serviceAccountName"] == ACCOUNT
    assert "endpoint" not in connector["spec"]["connection"]  # in the cluster: the pod's ServiceAccount
    path = directory / "kubernetes-cluster-connector.yaml"
    path.write_text(yaml.safe_dump_all(kept, sort_keys=False))
    return path


def catalogued(repository: MetadataRepository, type_name: str) -> set[str]:
    with repository.transaction(actor="test/reader") as transaction:
        found = transaction.find_elements(metadata_collection=f"{NAMESPACE}/{CONNECTOR}")
    return {e.qualified_name for e in found if e.type_name == type_name}


def test_the_kubernetes_cluster_connector_catalogues_the_clusters_own_workloads_with_the_charts_rbac(
    cli: Cli, release: None, repository: MetadataRepository, pod_visible_dirs: Callable[[str], Path]
) -> None:
    roles = cli.get("clusterrole", f"{RELEASE}-cluster-reader")
    assert roles is not None
    cli.kubectl("apply", "-f", str(example_manifest(pod_visible_dirs("kubernetes-cluster"))), "-n", NAMESPACE)
    wait_connector_ready(cli, NAMESPACE, CONNECTOR)

    kube_system = cli.get("namespace", "kube-system")
    assert kube_system is not None
    prefix = scope_prefix(kube_system["metadata"]["uid"])
    operators = cli.get("deployments", "-n", RELEASE_NAMESPACE, "-l", OPERATOR_SELECTOR)
    assert operators is not None and len(operators["items"]) == 1, operators
    operator = f"{prefix}namespaces/{RELEASE_NAMESPACE}/deployments/{operators['items'][0]['metadata']['name']}"

    servers = wait_for(
        lambda: (found := catalogued(repository, "SoftwareServer")) and operator in found and found,
        timeout=180,
        interval=1,
        what=f"{operator} in the repository",
    )
    assert all(name.startswith(prefix) for name in servers)
    namespaces = catalogued(repository, "SoftwareCapability")
    assert {f"{prefix}namespaces/{RELEASE_NAMESPACE}", f"{prefix}namespaces/{NAMESPACE}"} <= namespaces
    assert f"{prefix}namespaces/kube-node-lease" not in namespaces  # the example excludes it
    assert catalogued(repository, "SoftwareServerPlatform") == {f"kubernetes://{kube_system['metadata']['uid']}"}
