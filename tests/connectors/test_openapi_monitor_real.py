"""openapi-monitor on large real-world documents: GitHub's REST API description (npm @octokit/openapi),
the largest of ReadMe's sample set (npm @readme/oas-examples), both installed by
scripts/install-openapi-documents.sh, and the live `/openapi/v2` and `/openapi/v3` of the test Kubernetes
API server, read with a service account's token and the cluster's CA, as a connector in a pod would."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kubernetes import client

from metaferry_runtime.connectors.openapi_monitor import OpenAPIMonitorConnector
from metaferry_runtime.connectors.openapi_monitor.model import HTTP_VERBS
from metaferry_runtime.testing import ConnectorHarness, element_named, elements_under, last_refresh_changes
from tests.cluster.control_plane import ControlPlane
from tests.connectors.openapi_server import DocumentServer


def operations_in(document: dict[str, Any]) -> set[str]:
    return {f"{verb.upper()} {path}" for path, item in document["paths"].items() for verb in item if verb in HTTP_VERBS}


def harness(endpoint: str, **spec: Any) -> ConnectorHarness[OpenAPIMonitorConnector]:
    return ConnectorHarness.create(OpenAPIMonitorConnector, endpoint=endpoint, **spec)


def test_githubs_rest_api_description_is_catalogued_and_an_unchanged_one_costs_a_304(
    openapi_documents: Path, document_server: DocumentServer
) -> None:
    body = (openapi_documents / "github/api.github.com.json").read_bytes()
    document = json.loads(body)
    document_server.put("/openapi.json", body)
    with harness(document_server.base, configuration_properties={"validation": "schema"}) as h:
        counts = h.refresh()
        [api] = elements_under(h, "DeployedAPI").values()
        assert api.qualified_name == f"openapi:{document['info']['title']}/{document['info']['version']}"
        operations = elements_under(h, "APIOperation", f"{api.qualified_name}::")
        assert len(operations) >= 1000
        assert {name.removeprefix(f"{api.qualified_name}::") for name in operations} == operations_in(document)
        repo = element_named(h, f"{api.qualified_name}::GET /repos/{{owner}}/{{repo}}")
        assert repo.properties["operationId"] == "repos/get" and repo.properties["tags"] == ["repos"]
        assert element_named(h, f"{api.qualified_name}::GET /repos/{{owner}}/{{repo}}::response::body.full_name")
        assert counts.created > 10_000
        assert not [record for record in h.audit_records() if record.severity == "Warning"]

        counts = h.refresh()
        assert counts.created == counts.updated == counts.archived == 0
        assert document_server.count(304, "/openapi.json") == 1


def test_the_large_sample_documents_are_catalogued_in_full(openapi_documents: Path) -> None:
    for relative in ("3.0/json/star-trek.json", "3.1/yaml/readme.yaml", "2.0/yaml/petstore.yaml"):
        source = openapi_documents / "oas-examples" / relative
        text = source.read_text()
        document = json.loads(text) if relative.endswith(".json") else __import__("yaml").safe_load(text)
        with harness(str(source)) as h:
            h.refresh()
            [api] = elements_under(h, "DeployedAPI").values()
            operations = elements_under(h, "APIOperation", f"{api.qualified_name}::")
            assert {name.removeprefix(f"{api.qualified_name}::") for name in operations} == operations_in(document), (
                relative
            )
            assert elements_under(h, "APIParameter", f"{api.qualified_name}::"), relative


def service_account_token(k8s_client: client.ApiClient, namespace: str) -> str:
    """A token of a fresh service account: what a connector's pod has, with no role bound beyond the defaults
    (the API server's documents are readable by every authenticated user, through system:discovery)."""
    core = client.CoreV1Api(k8s_client)
    core.create_namespaced_service_account(
        namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="openapi"))
    )
    request = client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=3600))
    issued = core.create_namespaced_service_account_token("openapi", namespace, request)
    return str(issued.status.token)


def test_the_kubernetes_api_servers_openapi_v2_is_catalogued_with_a_service_account_token(
    control_plane: ControlPlane, k8s_client: client.ApiClient, namespace: str
) -> None:
    token = service_account_token(k8s_client, namespace)
    properties = {"caFile": str(control_plane.ca_cert), "validation": "off"}
    with harness(
        f"{control_plane.server}/openapi/v2", secrets={"token": token}, configuration_properties=properties
    ) as h:
        h.refresh()
        [api] = elements_under(h, "DeployedAPI").values()
        assert api.properties["name"] == "Kubernetes"
        assert api.properties["deployedImplementationType"] == "Swagger 2.0"
        pods = element_named(h, f"{api.qualified_name}::GET /api/v1/namespaces/{{namespace}}/pods")
        assert pods.properties["operationId"] == "listCoreV1NamespacedPod"
        assert element_named(h, f"{pods.qualified_name}::request::query.labelSelector")
        assert len(elements_under(h, "APIOperation")) > 500


def test_the_kubernetes_api_servers_openapi_v3_index_gives_a_document_per_group(
    control_plane: ControlPlane, k8s_client: client.ApiClient, namespace: str
) -> None:
    token = service_account_token(k8s_client, namespace)
    secrets = {"token": token, "ca.crt": control_plane.ca_cert.read_text()}  # as a service account token Secret
    with harness(control_plane.server, secrets=secrets, configuration_properties={"validation": "off"}) as h:
        h.refresh()  # a base URL: /openapi.json and the others are refused or missing; /openapi/v3 is the index
        apis = elements_under(h, "DeployedAPI")
        groups = {api.properties["displayName"].rsplit("(", 1)[-1].rstrip(")") for api in apis.values()}
        assert {"api/v1", "apis/apps/v1", "apis/batch/v1"} <= groups
        [apps] = [api for api in apis.values() if api.qualified_name.endswith("/apis/apps/v1")]
        assert apps.properties["deployedImplementationType"].startswith("OpenAPI 3")
        deployments = element_named(
            h, f"{apps.qualified_name}::POST /apis/apps/v1/namespaces/{{namespace}}/deployments"
        )
        assert deployments.properties["operationId"] == "createAppsV1NamespacedDeployment"
        assert element_named(h, f"{deployments.qualified_name}::request::body.spec")

        h.refresh()
        assert last_refresh_changes(h).nothing
        unchanged = [record.text for record in h.audit_records() if record.message_id.endswith("0003")][-1]
        assert f"found {len(apis)} documents unchanged ({len(apis)} answered 304)" in unchanged
