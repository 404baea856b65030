"""examples/lineage-connector.yaml on the test cluster: the operator opens the receiver's listenerPort in the
connector's Service, and the real OpenLineage client reaches it on the pod the Service
selects (as an in-cluster job would through the Service), its event catalogued in the release's shared
PostgreSQL repository."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from openlineage.client.event_v2 import RunState

from metaferry_runtime.repository import Element, MetadataRepository, open_repository
from tests.connectors.openlineage_client import client, run_event
from tests.e2e.conftest import EXAMPLES, Cli, installed_on_external_repository, wait_connector_ready
from tests.waiting import wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.postgres]

NAMESPACE = "lineage"
CONNECTOR = "lineage"


@pytest.fixture(scope="module")
def release(cli: Cli, catalogue: str) -> Iterator[None]:
    with installed_on_external_repository(cli, catalogue, connector_namespace=NAMESPACE):
        yield


def example_manifest(token: str, directory: Path) -> Path:
    secret, connector = yaml.safe_load_all((EXAMPLES / "lineage-connector.yaml").read_text())
    secret["stringData"]["token"] = token
    path = directory / "lineage-connector.yaml"
    path.write_text(yaml.safe_dump_all([secret, connector], sort_keys=False))
    return path


def listener_address(cli: Cli, selector: dict[str, str], port_name: str) -> tuple[str, int] | None:
    """The pod IP of the ready pod the Service selects, and its container port named `port_name`. (The test
    pod runner gives pods loopback addresses, which EndpointSlices refuse, so the address is read from the
    pod, as the operator reads it.)"""
    labels = ",".join(f"{key}={value}" for key, value in selector.items())
    pods = cli.get("pods", "-n", NAMESPACE, "-l", labels) or {}
    for pod in pods.get("items") or []:
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions") or [])
        ports = {p["name"]: p["containerPort"] for c in pod["spec"]["containers"] for p in c.get("ports") or []}
        if ready and pod["status"].get("podIP") and port_name in ports:
            return pod["status"]["podIP"], int(ports[port_name])
    return None


def test_a_job_posts_lineage_through_the_connectors_service(
    cli: Cli, release: None, catalogue: str, pod_visible_dirs: Callable[[str], Path]
) -> None:
    token = f"token-{uuid.uuid4().hex}"
    directory = pod_visible_dirs("lineage-connector")
    cli.kubectl("apply", "-f", str(example_manifest(token, directory)), "-n", NAMESPACE)
    wait_connector_ready(cli, NAMESPACE, CONNECTOR)
    service = cli.get(f"service/{CONNECTOR}-runtime", "-n", NAMESPACE) or {}
    assert {"name": "listener", "port": 5000, "targetPort": "listener", "protocol": "TCP"} in service["spec"]["ports"]

    selector = service["spec"]["selector"]
    address = wait_for(
        lambda: listener_address(cli, selector, "listener"), timeout=120, interval=0.5, what="the listener's pod"
    )
    host, port = address
    emitter = client(port, token=token, host=host)
    emitter.emit(run_event(RunState.COMPLETE, namespace="e2e", job="nightly"))

    repository: MetadataRepository = open_repository(catalogue)
    try:

        def catalogued() -> Element | None:
            with repository.transaction(actor="test/reader") as transaction:
                return transaction.find_element_by_name("openlineage:job:e2e/nightly")

        process = wait_for(catalogued, timeout=60, interval=0.5, what="the event's Process in the repository")
    finally:
        repository.close()
    assert process.properties["additionalProperties"]["latestRunState"] == "COMPLETE"
    assert process.metadata_collection == f"{NAMESPACE}/{CONNECTOR}"
