"""examples/openapi-connector.yaml on the test cluster: the API server's own APIs catalogued by a connector
pod that reads them with its service account's token and the cluster's CA, both from the service account
token Secret that Kubernetes fills in; a refresh on request finds every document unchanged (304s)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from tests.cluster.control_plane import ControlPlane
from tests.e2e.conftest import (
    EXAMPLES,
    Cli,
    Json,
    installed,
    request_refresh,
    wait_connector_ready,
    wait_refresh_handled,
)
from tests.waiting import wait_for

pytestmark = pytest.mark.cluster

NAMESPACE = "api-catalogue"
CONNECTOR = "cluster-apis"


@pytest.fixture(scope="module")
def release(cli: Cli) -> Iterator[None]:
    with installed(cli):
        cli.kubectl("create", "namespace", NAMESPACE)
        try:
            yield
        finally:
            cli.kubectl("delete", "ic", "--all", "-n", NAMESPACE, "--wait=true", "--timeout=120s", check=False)
            cli.kubectl("delete", "namespace", NAMESPACE, "--wait=false", check=False)


def example_manifest(server: str, directory: Path) -> Path:
    """The example pointed at the test API server (the pods here have no cluster DNS for kubernetes.default)."""
    documents = list(yaml.safe_load_all((EXAMPLES / "openapi-connector.yaml").read_text()))
    connector = next(d for d in documents if d["kind"] == "IntegrationConnector")
    assert connector["spec"]["connection"]["endpoint"] == "https://kubernetes.default.svc"
    connector["spec"]["connection"]["endpoint"] = server
    connector["spec"]["connection"]["configurationProperties"]["validation"] = "off"  # keep the test short
    path = directory / "openapi-connector.yaml"
    path.write_text(yaml.safe_dump_all(documents, sort_keys=False))
    return path


def status_of(cli: Cli) -> Json:
    return dict((cli.get(f"ic/{CONNECTOR}", "-n", NAMESPACE) or {}).get("status") or {})


def refreshed(cli: Cli, *, more_than: int) -> Json:
    """The status once refreshCount is above `more_than` (a refresh finished and was reported)."""

    def done() -> Json | None:
        status = status_of(cli)
        return status if status.get("refreshCount", 0) > more_than and status.get("statistics") else None

    return wait_for(done, timeout=180, interval=0.5, what=f"refresh number {more_than + 1} reported")


def test_the_api_connector_catalogues_the_api_servers_groups_and_an_unchanged_refresh_writes_nothing(
    cli: Cli, release: None, control_plane: ControlPlane, pod_visible_dirs: Callable[[str], Path]
) -> None:
    manifest = example_manifest(control_plane.server, pod_visible_dirs("openapi-connector"))
    cli.kubectl("apply", "-f", str(manifest), "-n", NAMESPACE)
    wait_connector_ready(cli, NAMESPACE, CONNECTOR)
    first = refreshed(cli, more_than=0)
    assert first["statistics"]["created"] > 5_000, first  # every API group's operations and parameters

    token = request_refresh(cli, NAMESPACE, CONNECTOR)
    wait_refresh_handled(cli, NAMESPACE, CONNECTOR, token)
    second = refreshed(cli, more_than=first["refreshCount"])
    assert second["statistics"]["created"] == second["statistics"]["updated"] == 0, second
    assert second["statistics"]["archived"] == 0, second
