"""Kubernetes auth against the real test API server: a TokenReview authenticates the bearer token, a
SubjectAccessReview on `get integrationconnectors/catalog` (group metaferry.io) authorizes it. Two
ServiceAccounts: one bound to a ClusterRole granting it, one not."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from kubernetes import client

from metaferry_catalog.app import make_app
from metaferry_catalog.kubeauth import KubernetesTokens
from metaferry_runtime.repository import open_repository
from tests.waiting import wait_for

pytestmark = pytest.mark.cluster


def token_for(core: client.CoreV1Api, namespace: str, account: str) -> str:
    request = client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(audiences=[]))
    return str(core.create_namespaced_service_account_token(account, namespace, request).status.token)


@pytest.fixture
def readers(k8s_client: client.ApiClient, namespace: str) -> Iterator[tuple[str, str]]:
    """(the reader's token, the other account's token); the ClusterRole and its binding are removed after."""
    core = client.CoreV1Api(k8s_client)
    rbac = client.RbacAuthorizationV1Api(k8s_client)
    for account in ("reader", "other"):
        core.create_namespaced_service_account(
            namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name=account))
        )
    name = f"metaferry-catalog-reader-{uuid.uuid4().hex[:6]}"
    rbac.create_cluster_role(
        client.V1ClusterRole(
            metadata=client.V1ObjectMeta(name=name),
            rules=[
                client.V1PolicyRule(
                    api_groups=["metaferry.io"], resources=["integrationconnectors/catalog"], verbs=["get"]
                )
            ],
        )
    )
    rbac.create_cluster_role_binding(
        client.V1ClusterRoleBinding(
            metadata=client.V1ObjectMeta(name=name),
            role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=name),
            subjects=[client.RbacV1Subject(kind="ServiceAccount", name="reader", namespace=namespace)],
        )
    )
    authz = client.AuthorizationV1Api(k8s_client)

    def granted() -> bool:
        review = authz.create_subject_access_review(
            client.V1SubjectAccessReview(
                spec=client.V1SubjectAccessReviewSpec(
                    user=f"system:serviceaccount:{namespace}:reader",
                    resource_attributes=client.V1ResourceAttributes(
                        group="metaferry.io", resource="integrationconnectors", subresource="catalog", verb="get"
                    ),
                )
            )
        )
        return bool(review.status.allowed)

    wait_for(granted, what="the RBAC authorizer to see the new binding")
    yield token_for(core, namespace, "reader"), token_for(core, namespace, "other")
    rbac.delete_cluster_role_binding(name)
    rbac.delete_cluster_role(name)


@pytest.fixture
async def catalogue(k8s_client: client.ApiClient, tmp_path: Path) -> AsyncIterator[str]:
    repository = open_repository(f"sqlite:///{tmp_path}/repository.db")
    server = TestServer(make_app(repository, tokens=KubernetesTokens(k8s_client)))
    await server.start_server()
    yield str(server.make_url(""))
    await server.close()
    repository.close()


async def status_of(base: str, path: str, token: str | None) -> int:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    async with ClientSession(headers=headers) as session, session.get(base + path) as response:
        return response.status


async def test_rbac_decides_who_reads_the_catalogue(
    readers: tuple[str, str], catalogue: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    reader, other = readers
    assert await status_of(catalogue, "/api/v1/elements", reader) == 200
    assert await status_of(catalogue, "/api/v1/types", reader) == 200
    assert await status_of(catalogue, "/api/v1/elements", other) == 403
    assert await status_of(catalogue, "/api/v1/elements", None) == 401
    assert await status_of(catalogue, "/api/v1/elements", "not-a-kubernetes-token") == 401
    assert await status_of(catalogue, "/api/v1/elements", reader[:-4] + "AAAA") == 401  # a forged signature
    assert await status_of(catalogue, "/openapi.json", None) == 200
    assert ":other" in caplog.text  # the refusal is logged by user name, the token never
    assert reader not in caplog.text
    assert other not in caplog.text
