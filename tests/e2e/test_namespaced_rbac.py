"""With watchNamespaces the operator serves only those namespaces, and its token can do nothing elsewhere.

"Left alone" is shown without sleeping: the unwatched connector is created *before* a refresh request
on the watched one; once the operator has handled that request it has seen every event up to it,
and the unwatched connector still carries no status, finalizer or children.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import (
    RELEASE,
    RELEASE_NAMESPACE,
    Cli,
    files_connector,
    installed,
    request_refresh,
    wait_connector_ready,
    wait_refresh_handled,
)

pytestmark = pytest.mark.cluster


@pytest.fixture
def unwatched(cli: Cli) -> Iterator[str]:
    name = f"unwatched-{uuid.uuid4().hex[:6]}"
    cli.kubectl("create", "namespace", name)
    yield name
    # The operator never put a finalizer on its connectors, so deleting the namespace cannot hang.
    cli.kubectl("delete", "namespace", name, "--wait=false", check=False)


def api_status(cli: Cli, token: str, path: str, method: str = "GET", body: dict[str, object] | None = None) -> int:
    """The HTTP status the API server gives this bearer token for one request."""
    context = ssl.create_default_context(cafile=str(cli.plane.ca_cert))
    request = urllib.request.Request(
        f"{cli.plane.server}{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/merge-patch+json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_namespaced_operator_ignores_and_cannot_touch_other_namespaces(
    cli: Cli, namespace: str, unwatched: str, pod_visible_dirs: Callable[[str], Path]
) -> None:
    with installed(cli, "--set-json", f'watchNamespaces=["{namespace}"]'):
        directory = pod_visible_dirs("namespaced")
        cli.kubectl("apply", "-f", str(files_connector(directory, name="watched")), "-n", namespace)
        wait_connector_ready(cli, namespace, "watched")

        cli.kubectl("apply", "-f", str(files_connector(directory, name="ignored")), "-n", unwatched)
        token = request_refresh(cli, namespace, "watched")
        wait_refresh_handled(cli, namespace, "watched", token)

        ignored = cli.get("ic/ignored", "-n", unwatched)
        assert ignored is not None
        assert not ignored.get("status")
        assert not ignored["metadata"].get("finalizers")
        assert not [key for key in ignored["metadata"].get("annotations") or {} if "kopf" in key]
        assert (
            cli.names(
                "deployments,services,secrets,configmaps,networkpolicies",
                "-n",
                unwatched,
                "-l",
                "app.kubernetes.io/part-of=metaferry",
            )
            == []
        )

        # The operator's own credentials: a token of its ServiceAccount, as its pod has.
        sa_token = cli.kubectl("create", "token", RELEASE, "-n", RELEASE_NAMESPACE).stdout.strip()
        ic_path = "/apis/metaferry.io/v1alpha1/namespaces/{ns}/integrationconnectors"
        assert api_status(cli, sa_token, ic_path.format(ns=namespace)) == 200  # control: allowed where watched
        assert api_status(cli, sa_token, f"/api/v1/namespaces/{namespace}/secrets") == 200
        assert api_status(cli, sa_token, ic_path.format(ns=unwatched)) == 403
        assert api_status(cli, sa_token, f"/api/v1/namespaces/{unwatched}/secrets") == 403
        assert api_status(cli, sa_token, f"/api/v1/namespaces/{unwatched}/pods") == 403
        assert (
            api_status(
                cli,
                sa_token,
                f"{ic_path.format(ns=unwatched)}/ignored",
                method="PATCH",
                body={"metadata": {"annotations": {"x": "y"}}},
            )
            == 403
        )
        assert api_status(cli, sa_token, "/apis/apps/v1/deployments") == 403  # nothing cluster-wide
        assert api_status(cli, sa_token, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions") == 200
