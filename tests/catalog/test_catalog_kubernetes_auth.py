"""Kubernetes auth against the real test API server: a TokenReview authenticates the bearer token, a
SubjectAccessReview on `get integrationconnectors/catalog` (group metaferry.io) authorizes reading it, and
one on `create curations` curating. ServiceAccounts bound to ClusterRoles that grant it, and ones not."""

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
from tests.catalog.catalog_data import fill
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


@pytest.fixture
def curators(k8s_client: client.ApiClient, namespace: str) -> Iterator[tuple[str, str]]:
    """(a steward's token, a reader's token): the steward bound to a ClusterRole with the chart's curator
    rules (read, and create on curations), the reader to one that only reads."""
    core = client.CoreV1Api(k8s_client)
    rbac = client.RbacAuthorizationV1Api(k8s_client)
    read = client.V1PolicyRule(api_groups=["metaferry.io"], resources=["integrationconnectors/catalog"], verbs=["get"])
    curate = client.V1PolicyRule(api_groups=["metaferry.io"], resources=["curations"], verbs=["create"])
    suffix = uuid.uuid4().hex[:6]
    roles = {"steward": (f"metaferry-catalog-curator-{suffix}", [read, curate])}
    roles["reader"] = (f"metaferry-catalog-reader-{suffix}", [read])
    for account, (name, rules) in roles.items():
        core.create_namespaced_service_account(
            namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name=account))
        )
        rbac.create_cluster_role(client.V1ClusterRole(metadata=client.V1ObjectMeta(name=name), rules=rules))
        rbac.create_cluster_role_binding(
            client.V1ClusterRoleBinding(
                metadata=client.V1ObjectMeta(name=name),
                role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=name),
                subjects=[client.RbacV1Subject(kind="ServiceAccount", name=account, namespace=namespace)],
            )
        )
    authz = client.AuthorizationV1Api(k8s_client)

    def allowed(account: str, resource: str, subresource: str | None, verb: str) -> bool:
        review = authz.create_subject_access_review(
            client.V1SubjectAccessReview(
                spec=client.V1SubjectAccessReviewSpec(
                    user=f"system:serviceaccount:{namespace}:{account}",
                    resource_attributes=client.V1ResourceAttributes(
                        group="metaferry.io", resource=resource, subresource=subresource, verb=verb
                    ),
                )
            )
        )
        return bool(review.status.allowed)

    wait_for(
        lambda: (
            allowed("steward", "curations", None, "create")
            and allowed("reader", "integrationconnectors", "catalog", "get")
        ),
        what="the RBAC authorizer to see the new bindings",
    )
    yield token_for(core, namespace, "steward"), token_for(core, namespace, "reader")
    for name, _ in roles.values():
        rbac.delete_cluster_role_binding(name)
        rbac.delete_cluster_role(name)


async def test_rbac_decides_who_curates_and_the_curator_is_the_token_review_user(
    k8s_client: client.ApiClient,
    namespace: str,
    curators: tuple[str, str],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    steward, reader = curators
    repository = open_repository(f"sqlite:///{tmp_path}/repository.db")
    notes = fill(repository).notes
    server = TestServer(make_app(repository, tokens=KubernetesTokens(k8s_client)))
    await server.start_server()
    url = str(server.make_url(f"/api/v1/elements/{notes}"))
    curation = {"properties": {"description": "Board minutes"}}
    try:
        async with ClientSession(headers={"Authorization": f"Bearer {reader}"}) as session:
            async with session.patch(url, json=curation) as refused:
                assert refused.status == 403
                assert reader not in await refused.text()
            async with session.get(url) as read:
                assert read.status == 200
        curating = ClientSession(headers={"Authorization": f"Bearer {steward}"})
        async with curating as session, session.patch(url, json=curation) as response:
            assert response.status == 200
            shown = await response.json()
        async with ClientSession() as anonymous, anonymous.patch(url, json=curation) as response:
            assert response.status == 401
    finally:
        await server.close()
        repository.close()
    assert shown["properties"]["description"] == "Board minutes"
    assert shown["curations"]["description"]["curator"] == f"system:serviceaccount:{namespace}:steward"
    assert f"{namespace}:reader" in caplog.text  # the refusal is logged by user name, the token never
    assert steward not in caplog.text
    assert reader not in caplog.text
