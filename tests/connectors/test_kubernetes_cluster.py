"""kubernetes-cluster in poll mode, against the real test API server: what a refresh catalogues, and exactly
what changes when workloads are created, scaled and deleted between refreshes."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from metaferry_runtime.connectors.kubernetes_cluster import KubernetesClusterConnector
from metaferry_runtime.connectors.kubernetes_cluster.model import scope_prefix
from metaferry_runtime.sdk import ConnectorConfigurationError
from metaferry_runtime.testing import ConnectorHarness, assert_refresh_writes_nothing, conformance, elements_under
from metaferry_runtime.testing.assertions import element_named, last_refresh_changes, relationships_between
from tests.chart.conftest import REPO
from tests.cluster.fixtures import ControlPlane
from tests.connectors import kubernetes_objects as k8s
from tests.waiting import wait_for

pytestmark = pytest.mark.cluster


@pytest.fixture
def cluster_id(k8s_client: client.ApiClient) -> str:
    return str(client.CoreV1Api(k8s_client).read_namespace("kube-system").metadata.uid)


@pytest.fixture
def node_name(k8s_client: client.ApiClient) -> Iterator[str]:
    name = f"node-{uuid.uuid4().hex[:6]}"
    k8s.node(k8s_client, name)
    yield name
    client.CoreV1Api(k8s_client).delete_node(name)


def harness_for(plane: ControlPlane, namespace: str, **properties: Any) -> ConnectorHarness[KubernetesClusterConnector]:
    return ConnectorHarness.create(
        KubernetesClusterConnector,
        endpoint=str(plane.kubeconfig),
        configuration_properties={"includeNamespaces": [namespace], **properties},
    )


def test_a_refresh_catalogues_nodes_namespaces_workloads_and_services(
    control_plane: ControlPlane, k8s_client: client.ApiClient, namespace: str, cluster_id: str, node_name: str
) -> None:
    k8s.create(
        k8s_client,
        namespace,
        k8s.deployment("web", replicas=2),
        k8s.stateful_set("db"),
        k8s.daemon_set("agent"),
        k8s.cron_job("report"),
        k8s.service("web", "web"),
        k8s.ingress("shop", host="shop.example", service_name="web"),
    )
    wait_for(
        lambda: len(client.CoreV1Api(k8s_client).list_namespaced_pod(namespace, label_selector="app=web").items) == 2,
        timeout=30,
        what="the Deployment's pods",
    )
    assert k8s.bind_and_report(k8s_client, namespace, app="web", node_name=node_name) == 2
    prefix = scope_prefix(cluster_id)
    ns = f"{prefix}namespaces/{namespace}"
    with harness_for(control_plane, namespace) as harness:
        harness.refresh()

        platform = element_named(harness, f"kubernetes://{cluster_id}")
        assert platform.type_name == "SoftwareServerPlatform"
        assert platform.properties["platformVersion"].startswith("v1.")
        assert platform.properties["additionalProperties"]["platform"] == "linux/amd64"

        host = element_named(harness, f"{prefix}nodes/{node_name}")
        assert host.type_name == "Host"
        assert host.properties["operatingSystem"] == "Debian GNU/Linux 13 (trixie)"
        assert host.properties["architecture"] == "amd64"
        extra = host.properties["additionalProperties"]
        assert extra["capacity.cpu"] == "8" and extra["containerRuntimeVersion"] == "containerd://2.1.0"
        assert extra["label.topology.kubernetes.io/zone"] == "zone-a"
        assert relationships_between(
            harness, host.qualified_name, platform.qualified_name, type_name="SoftwareServerPlatformDeployment"
        )

        assert set(elements_under(harness, "SoftwareCapability", prefix)) == {ns}
        servers = elements_under(harness, "SoftwareServer", prefix)
        assert set(servers) == {
            f"{ns}/deployments/web",
            f"{ns}/statefulsets/db",
            f"{ns}/daemonsets/agent",
            f"{ns}/cronjobs/report",
        }
        web = servers[f"{ns}/deployments/web"].properties
        assert web["deployedImplementationType"] == "Kubernetes Deployment"
        assert web["serverVersion"] == "1.4.2"
        assert web["additionalProperties"]["image.main"] == k8s.IMAGE
        assert web["additionalProperties"]["digest.main"] == k8s.DIGEST
        assert web["additionalProperties"]["replicas"] == "2"
        report = servers[f"{ns}/cronjobs/report"].properties["additionalProperties"]
        assert report["schedule"] == "0 3 * * *" and report["image.main"] == "registry.example/report:0.9"

        endpoints = elements_under(harness, "Endpoint", prefix)
        assert set(endpoints) == {f"{ns}/services/web", f"{ns}/ingresses/shop"}
        assert endpoints[f"{ns}/services/web"].properties["networkAddress"] == f"web.{namespace}.svc"
        assert endpoints[f"{ns}/ingresses/shop"].properties["networkAddress"] == "https://shop.example"

        web_name = f"{ns}/deployments/web"
        assert relationships_between(harness, web_name, f"{ns}/services/web", type_name="ServerEndpoint")
        assert relationships_between(harness, web_name, f"{ns}/ingresses/shop", type_name="ServerEndpoint")
        assert relationships_between(harness, web_name, host.qualified_name, type_name="DeployedOn")
        assert not relationships_between(
            harness, f"{ns}/statefulsets/db", f"{ns}/services/web", type_name="ServerEndpoint"
        )
        assert relationships_between(harness, platform.qualified_name, web_name, type_name="SoftwareServerDeployment")
        assert relationships_between(harness, ns, web_name, type_name="ServerAssetUse")
        assert relationships_between(harness, platform.qualified_name, ns, type_name="SupportedSoftwareCapability")

        assert_refresh_writes_nothing(harness)


def test_create_scale_and_delete_between_refreshes_change_exactly_those_workloads(
    control_plane: ControlPlane, k8s_client: client.ApiClient, namespace: str, cluster_id: str
) -> None:
    apps = client.AppsV1Api(k8s_client)
    k8s.create(k8s_client, namespace, k8s.deployment("web"), k8s.deployment("api"), k8s.service("api", "api"))
    ns = f"{scope_prefix(cluster_id)}namespaces/{namespace}"
    with harness_for(control_plane, namespace) as harness:
        harness.refresh()
        assert_refresh_writes_nothing(harness)

        k8s.create(k8s_client, namespace, k8s.deployment("worker"))
        harness.refresh()
        changes = last_refresh_changes(harness)
        assert (changes.created, changes.updated, changes.archived) == ({f"{ns}/deployments/worker"}, set(), set())

        apps.patch_namespaced_deployment_scale("web", namespace, {"spec": {"replicas": 3}})
        harness.refresh()
        changes = last_refresh_changes(harness)
        assert (changes.created, changes.updated, changes.archived) == (set(), {f"{ns}/deployments/web"}, set())
        assert element_named(harness, f"{ns}/deployments/web").properties["additionalProperties"]["replicas"] == "3"

        apps.delete_namespaced_deployment("api", namespace)
        harness.refresh()
        changes = last_refresh_changes(harness)
        assert (changes.created, changes.updated, changes.archived) == (set(), set(), {f"{ns}/deployments/api"})
        assert f"{ns}/services/api" in elements_under(harness, "Endpoint", ns)  # the Service is still there

        client.CoreV1Api(k8s_client).delete_namespaced_service("api", namespace)
        harness.refresh()
        assert last_refresh_changes(harness).archived == {f"{ns}/services/api"}
        assert_refresh_writes_nothing(harness)


def test_a_changed_selector_moves_the_service_link(
    control_plane: ControlPlane, k8s_client: client.ApiClient, namespace: str, cluster_id: str
) -> None:
    k8s.create(k8s_client, namespace, k8s.deployment("blue"), k8s.deployment("green"), k8s.service("live", "blue"))
    ns = f"{scope_prefix(cluster_id)}namespaces/{namespace}"
    live = f"{ns}/services/live"
    with harness_for(control_plane, namespace) as harness:
        harness.refresh()
        assert relationships_between(harness, f"{ns}/deployments/blue", live, type_name="ServerEndpoint")
        client.CoreV1Api(k8s_client).patch_namespaced_service(
            "live", namespace, {"spec": {"selector": {"app": "green"}}}
        )
        harness.refresh()
        assert not relationships_between(harness, f"{ns}/deployments/blue", live, type_name="ServerEndpoint")
        assert relationships_between(harness, f"{ns}/deployments/green", live, type_name="ServerEndpoint")


def test_label_selector_and_namespace_exclusion_limit_what_is_catalogued(
    control_plane: ControlPlane, k8s_client: client.ApiClient, namespace: str, cluster_id: str
) -> None:
    k8s.create(k8s_client, namespace, k8s.deployment("web", extra_labels={"catalogue": "yes"}), k8s.deployment("tmp"))
    ns = f"{scope_prefix(cluster_id)}namespaces/{namespace}"
    with harness_for(control_plane, namespace, labelSelector="catalogue=yes") as harness:
        harness.refresh()
        assert set(elements_under(harness, "SoftwareServer", ns)) == {f"{ns}/deployments/web"}
    with harness_for(control_plane, namespace, excludeNamespaces=[namespace[:6] + "*"]) as harness:
        harness.refresh()
        assert not elements_under(harness, "SoftwareServer", ns)
        assert not elements_under(harness, "SoftwareCapability", ns)


def test_a_kubeconfig_that_is_not_there_is_a_configuration_error(tmp_path: Any) -> None:
    with pytest.raises(ConnectorConfigurationError, match="is not a kubeconfig file"):
        ConnectorHarness.create(KubernetesClusterConnector, endpoint=str(tmp_path / "missing"))


def test_conforms(control_plane: ControlPlane, k8s_client: client.ApiClient, namespace: str) -> None:
    k8s.create(k8s_client, namespace, k8s.deployment("web"), k8s.service("web", "web"))
    conformance(
        KubernetesClusterConnector,
        endpoint=str(control_plane.kubeconfig),
        configuration_properties={"includeNamespaces": [namespace]},
    )


def test_the_example_cluster_role_is_all_the_connector_needs(
    control_plane: ControlPlane, k8s_client: client.ApiClient, namespace: str, cluster_id: str, tmp_path: Path
) -> None:
    """A service account with no role is refused (CONFIG_FAILED, naming the role to grant); bound to the
    example's ClusterRole, every diagnose step passes and a refresh catalogues the namespace."""
    documents = list(yaml.safe_load_all((REPO / "examples" / "kubernetes-cluster-connector.yaml").read_text()))
    role = next(document for document in documents if document["kind"] == "ClusterRole")
    role["metadata"]["name"] = f"catalogue-{namespace}"
    rbac, core = client.RbacAuthorizationV1Api(k8s_client), client.CoreV1Api(k8s_client)
    rbac.create_cluster_role(role)
    core.create_namespaced_service_account(namespace, {"metadata": {"name": "catalogue"}})
    token = core.create_namespaced_service_account_token("catalogue", namespace, {"spec": {}}).status.token
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {
                        "name": "c",
                        "cluster": {
                            "server": control_plane.server,
                            "certificate-authority": str(control_plane.pki.ca_cert),
                        },
                    }
                ],
                "users": [{"name": "u", "user": {"token": token}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    k8s.create(k8s_client, namespace, k8s.deployment("web"))
    properties = {"includeNamespaces": [namespace]}
    try:
        with pytest.raises(ConnectorConfigurationError, match="read-only ClusterRole"):
            ConnectorHarness.create(
                KubernetesClusterConnector, endpoint=str(kubeconfig), configuration_properties=properties
            )
        binding = {
            "metadata": {"name": role["metadata"]["name"]},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": role["metadata"]["name"],
            },
            "subjects": [{"kind": "ServiceAccount", "name": "catalogue", "namespace": namespace}],
        }
        rbac.create_cluster_role_binding(binding)
        with ConnectorHarness.create(
            KubernetesClusterConnector, endpoint=str(kubeconfig), configuration_properties=properties, start=False
        ) as harness:
            wait_for(lambda: all(step.ok for step in harness.connector.diagnose()), timeout=30, what="the binding")
            harness.start()
            harness.refresh()
            ns = f"{scope_prefix(cluster_id)}namespaces/{namespace}"
            assert set(elements_under(harness, "SoftwareServer", ns)) == {f"{ns}/deployments/web"}
    finally:
        rbac.delete_cluster_role(role["metadata"]["name"])
        with contextlib.suppress(client.ApiException):
            rbac.delete_cluster_role_binding(role["metadata"]["name"])
