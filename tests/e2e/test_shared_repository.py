"""`helm install` with defaults gives one shared, durable repository (the bundled PostgreSQL) and a catalogue
API over it: two connectors in different namespaces write to it, a connector pod replaced by a spec change
keeps every element, the PostgreSQL pod deleted and recreated loses nothing committed, and the catalogue
answers through its Service (reached at the address its name resolves to in pods: the pod runner's
stand-in for cluster DNS, tests/cluster/README.md).
"""

from __future__ import annotations

import contextlib
import io
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from metaferry_cli.main import main
from tests.cluster.pod_runner import postgresql_bin_dir
from tests.cluster.waiting import wait_for
from tests.e2e.conftest import (
    RELEASE,
    RELEASE_NAMESPACE,
    Cli,
    Json,
    files_connector,
    installed,
    request_refresh,
    wait_connector_ready,
    wait_refresh_handled,
)

pytestmark = pytest.mark.cluster

POSTGRESQL = f"{RELEASE}-postgresql"
CATALOG = f"{RELEASE}-catalog"


def catalog_get(cli: Cli, path: str, token: str | None) -> tuple[int, Any]:
    address = cli.runner.service_address(RELEASE_NAMESPACE, CATALOG)
    assert address, f"service/{CATALOG} resolves to no pod"
    request = urllib.request.Request(f"http://{address}:8090{path}")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, None


def elements_by_collection(cli: Cli, token: str) -> dict[str, set[str]]:
    status, page = catalog_get(cli, "/api/v1/elements?limit=500", token)
    assert status == 200, status
    assert page["next_cursor"] is None
    found: dict[str, set[str]] = {}
    for item in page["items"]:
        found.setdefault(item["metadata_collection"], set()).add(item["guid"])
    return found


def ready_pod(cli: Cli, namespace: str, selector: str, not_uid: str | None = None) -> Json | None:
    for pod in (cli.get("pods", "-n", namespace, "-l", selector) or {}).get("items", []):
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", []))
        if ready and pod["metadata"]["uid"] != not_uid and not pod["metadata"].get("deletionTimestamp"):
            return dict(pod)
    return None


def test_default_install_shares_one_durable_repository_read_by_the_catalogue(
    cli: Cli, namespace: str, pod_visible_dirs: Callable[[str], Path]
) -> None:
    if postgresql_bin_dir() is None:
        pytest.fail("no PostgreSQL server binaries for the bundled repository: run scripts/start-postgres.sh", False)
    other = f"{namespace}-b"
    with installed(cli):
        cli.kubectl("create", "namespace", other)
        try:
            _journey(cli, [namespace, other], pod_visible_dirs)
        finally:
            cli.kubectl("delete", "ic", "--all", "-n", other, "--wait=true", "--timeout=120s", check=False)
            cli.kubectl("delete", "namespace", other, "--wait=false", check=False)


def _journey(cli: Cli, namespaces: list[str], pod_visible_dirs: Callable[[str], Path]) -> None:
    secret = cli.get("secret", POSTGRESQL, "-n", RELEASE_NAMESPACE)
    assert secret is not None and set(secret["data"]) == {"username", "password", "database", "url"}

    # A reader: a ServiceAccount bound to the chart's reader ClusterRole; anonymous requests are refused.
    cli.kubectl("create", "serviceaccount", "reader", "-n", namespaces[0])
    cli.kubectl(
        "create", "clusterrolebinding", f"{namespaces[0]}-reader",
        f"--clusterrole={CATALOG}-reader", f"--serviceaccount={namespaces[0]}:reader",
    )  # fmt: skip
    token = cli.kubectl("create", "token", "reader", "-n", namespaces[0]).stdout.strip()
    wait_for(lambda: cli.runner.service_address(RELEASE_NAMESPACE, CATALOG), timeout=60, what="the catalogue")
    assert catalog_get(cli, "/api/v1/elements", None)[0] == 401

    # Two connectors in two namespaces write to the one repository.
    for index, ns in enumerate(namespaces):
        manifest = files_connector(pod_visible_dirs(f"shared-{index}"), name=f"files-{index}")
        cli.kubectl("apply", "-f", str(manifest), "-n", ns)
    for index, ns in enumerate(namespaces):
        wait_connector_ready(cli, ns, f"files-{index}")
        wait_refresh_handled(cli, ns, f"files-{index}", request_refresh(cli, ns, f"files-{index}"))

    def both_written() -> dict[str, set[str]] | None:
        found = elements_by_collection(cli, token)
        return found if len(found) >= 2 and all(found.values()) else None

    before = wait_for(both_written, timeout=120, interval=1.0, what="both connectors' elements in the catalogue")
    assert len(before) == 2
    _curated_value_survives_a_refresh(cli, namespaces[1], "files-1")

    # A spec change replaces the first connector's pod: its elements stay.
    selector = "app.kubernetes.io/instance=files-0,app.kubernetes.io/component=connector"
    first_pod = ready_pod(cli, namespaces[0], selector)
    assert first_pod is not None
    change = '{"spec":{"refreshInterval":"2m"}}'
    cli.kubectl("patch", "ic", "files-0", "-n", namespaces[0], "--type=merge", "-p", change)
    wait_for(
        lambda: ready_pod(cli, namespaces[0], selector, not_uid=first_pod["metadata"]["uid"]),
        timeout=180,
        what="the replaced connector pod",
    )
    wait_connector_ready(cli, namespaces[0], "files-0")
    wait_refresh_handled(cli, namespaces[0], "files-0", request_refresh(cli, namespaces[0], "files-0"))
    assert elements_by_collection(cli, token) == before

    # The PostgreSQL pod deleted: the StatefulSet recreates it on the same claim, and nothing committed is lost.
    db_selector = "app.kubernetes.io/component=repository"
    db_pod = ready_pod(cli, RELEASE_NAMESPACE, db_selector)
    assert db_pod is not None and db_pod["metadata"]["name"] == f"{POSTGRESQL}-0"
    cli.kubectl("delete", "pod", f"{POSTGRESQL}-0", "-n", RELEASE_NAMESPACE, "--wait=true")
    wait_for(
        lambda: ready_pod(cli, RELEASE_NAMESPACE, db_selector, not_uid=db_pod["metadata"]["uid"]),
        timeout=180,
        what="the recreated PostgreSQL pod",
    )

    def answered() -> dict[str, set[str]] | None:
        try:
            return elements_by_collection(cli, token)
        except AssertionError:
            return None  # the catalogue's pooled connections to the old server are replaced on first use

    assert wait_for(answered, timeout=60, interval=1.0, what="the catalogue after the restart") == before
    for index, ns in enumerate(namespaces):  # the connectors write again after the restart
        wait_refresh_handled(cli, ns, f"files-{index}", request_refresh(cli, ns, f"files-{index}"))
    assert elements_by_collection(cli, token) == before

    # An upgrade keeps the generated password (read back with lookup): the server still accepts it.
    cli.helm("upgrade", RELEASE, "charts/metaferry", "-n", RELEASE_NAMESPACE, "--reuse-values", "--wait")
    after = cli.get("secret", POSTGRESQL, "-n", RELEASE_NAMESPACE)
    assert after is not None and after["data"]["password"] == secret["data"]["password"]


def _curated_value_survives_a_refresh(cli: Cli, namespace: str, name: str) -> None:
    """Through the `metaferry` CLI against the chart's catalogue: a curator's edit, then a requested refresh of
    the connector that harvested the element; the curated value still shows, the harvested one beside it."""
    cli.kubectl("create", "serviceaccount", "steward", "-n", namespace)
    cli.kubectl(
        "create", "clusterrolebinding", f"{namespace}-steward",
        f"--clusterrole={CATALOG}-curator", f"--serviceaccount={namespace}:steward",
    )  # fmt: skip
    token = cli.kubectl("create", "token", "steward", "-n", namespace).stdout.strip()
    catalog = ["--catalog", f"http://{cli.runner.service_address(RELEASE_NAMESPACE, CATALOG)}:8090"]
    catalog += ["--catalog-token", token]
    cluster = ["-n", namespace, "--kubeconfig", str(cli.plane.kubeconfig)]

    def run(*args: str) -> str:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
        assert code == 0, f"metaferry {' '.join(args[:2])}: exit {code}: {err.getvalue()}"
        return out.getvalue()

    found = json.loads(run("search", "customers.csv", "--type", "CSVFile", *catalog, "-o", "json"))
    (element,) = [e for e in found if e["metadata_collection"].endswith(f"/{name}")]
    run("curate", element["guid"], "--set", "description=Customers, owned by sales ops", *catalog)
    refreshed = json.loads(run("refresh", name, "--wait", "--timeout", "3m", *cluster, "-o", "json"))
    assert refreshed["result"] == "Succeeded"
    shown = json.loads(run("show", element["qualified_name"], *catalog, "-o", "json"))
    assert shown["properties"]["description"] == "Customers, owned by sales ops"
    assert shown["curations"]["description"]["curator"] == f"system:serviceaccount:{namespace}:steward"
    assert shown["provenance"]["last_refresh_id"] == refreshed["refreshId"], "the refresh observed it again"
