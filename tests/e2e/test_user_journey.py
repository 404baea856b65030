"""The path a user takes, through helm and kubectl, on a real API server with pods as local processes.

One release for the module, installed exactly as the chart README says; the tests follow the README's
order: install, apply the example, wait for Ready, annotate for a refresh, upgrade, helm test.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import (
    EXAMPLES,
    RELEASE,
    RELEASE_NAMESPACE,
    Cli,
    Json,
    files_connector,
    helm_test,
    installed,
    request_refresh,
    wait_connector_ready,
    wait_operator_running,
    wait_refresh_handled,
)
from tests.waiting import wait_for

pytestmark = pytest.mark.cluster

CONNECTORS_NAMESPACE = "journey"


@pytest.fixture(scope="module")
def release(cli: Cli) -> Iterator[str]:
    with installed(cli) as result:
        assert "kubectl get ic" in result.stdout  # NOTES.txt is printed
        cli.kubectl("create", "namespace", CONNECTORS_NAMESPACE)
        try:
            yield RELEASE
        finally:
            cli.kubectl(
                "delete", "ic", "--all", "-n", CONNECTORS_NAMESPACE, "--wait=true", "--timeout=120s", check=False
            )
            cli.kubectl("delete", "namespace", CONNECTORS_NAMESPACE, "--wait=false", check=False)


@pytest.fixture(scope="module")
def sample(cli: Cli, release: str, pod_visible_dirs: Callable[[str], Path]) -> str:
    """The files example, applied with kubectl and Ready."""
    manifest = files_connector(pod_visible_dirs("files-connector"))
    cli.kubectl("apply", "-f", str(manifest), "-n", CONNECTORS_NAMESPACE)
    wait_connector_ready(cli, CONNECTORS_NAMESPACE, "sample-files")
    return "sample-files"


def test_helm_install_runs_the_operator_under_its_own_service_account(cli: Cli, release: str) -> None:
    pod = wait_operator_running(cli)
    assert pod["spec"]["serviceAccountName"] == RELEASE
    deployment = cli.get("deployment", f"{RELEASE}-operator", "-n", RELEASE_NAMESPACE)
    assert deployment is not None and deployment["status"].get("availableReplicas") == 1
    crd = cli.get("crd", "integrationconnectors.metaferry.io")
    assert crd is not None and crd["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"


def test_every_example_passes_server_side_validation(cli: Cli, release: str) -> None:
    for path in sorted(EXAMPLES.glob("*.yaml")):
        result = cli.kubectl("apply", "--dry-run=server", "-f", str(path), "-n", CONNECTORS_NAMESPACE, check=False)
        assert result.returncode == 0, f"{path.name}: {result.stderr}"


def test_the_example_connector_becomes_ready_and_shows_in_kubectl_get(cli: Cli, sample: str) -> None:
    table = cli.kubectl("get", "ic", "-n", CONNECTORS_NAMESPACE).stdout
    assert sample in table.splitlines()[1]
    obj = cli.get(f"ic/{sample}", "-n", CONNECTORS_NAMESPACE)
    assert obj is not None
    status = obj["status"]
    assert status["observedGeneration"] == obj["metadata"]["generation"]
    assert status.get("podName")
    assert (status.get("refreshCount") or 0) >= 1  # refresh at start


def test_annotating_refresh_runs_one_refresh_and_echoes_the_request(cli: Cli, sample: str) -> None:
    before = cli.get(f"ic/{sample}", "-n", CONNECTORS_NAMESPACE)
    count_before = ((before or {}).get("status") or {}).get("refreshCount") or 0
    token = request_refresh(cli, CONNECTORS_NAMESPACE, sample)
    wait_refresh_handled(cli, CONNECTORS_NAMESPACE, sample, token)

    # the token is echoed once the runtime accepted the request; the count follows when the refresh ends
    def refreshed() -> Json | None:
        obj = cli.get(f"ic/{sample}", "-n", CONNECTORS_NAMESPACE)
        status: Json = (obj or {}).get("status") or {}
        return status if (status.get("refreshCount") or 0) >= count_before + 1 else None

    status = wait_for(refreshed, timeout=60, interval=0.5, what=f"the refresh asked by {token} to finish")
    assert status["lastHandledRefreshAt"] == token
    shown = cli.kubectl(
        "get",
        "ic",
        sample,
        "-n",
        CONNECTORS_NAMESPACE,
        "-o",
        "jsonpath={.status.lastHandledRefreshAt} {.status.refreshCount}",
    ).stdout
    assert shown.split() == [token, str(status["refreshCount"])]


def test_helm_upgrade_rolls_the_operator_with_the_new_settings(cli: Cli, release: str, sample: str) -> None:
    old = {pod["metadata"]["name"] for pod in cli.operator_pods()}
    cli.helm(
        "upgrade",
        RELEASE,
        "charts/metaferry",
        "-n",
        RELEASE_NAMESPACE,
        "--reuse-values",
        "--set",
        "operator.statusPollInterval=3",
        "--wait",
        "--timeout",
        "240s",
    )

    def rolled() -> Json | None:
        pods = [p for p in cli.operator_pods() if not p["metadata"].get("deletionTimestamp")]
        if len(pods) != 1 or pods[0]["metadata"]["name"] in old:
            return None
        return pods[0] if pods[0]["status"].get("phase") == "Running" else None

    pod = wait_for(rolled, timeout=240, interval=0.5, what="the operator pod to be replaced")
    env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
    assert env["METAFERRY_STATUS_POLL_INTERVAL"] == "3"
    assert not (old & {p["metadata"]["name"] for p in cli.operator_pods()})  # Recreate: the old one is gone
    history = cli.helm("history", RELEASE, "-n", RELEASE_NAMESPACE, "-o", "json").stdout
    assert [h["revision"] for h in json.loads(history)][-1] == 2
    # The new operator carries on: a refresh requested now is handled.
    token = request_refresh(cli, CONNECTORS_NAMESPACE, sample)
    wait_refresh_handled(cli, CONNECTORS_NAMESPACE, sample, token)


def test_helm_test_creates_a_connector_and_sees_it_refresh(cli: Cli, release: str) -> None:
    result, selftest_output = helm_test(cli)
    assert result.returncode == 0, result.stdout + result.stderr + selftest_output + cli.operator_logs()
    assert "Phase:          Succeeded" in result.stdout
    assert "selftest: passed" in selftest_output
    rights = cli.names(
        "serviceaccounts,roles,rolebindings", "-n", RELEASE_NAMESPACE, "-l", "app.kubernetes.io/instance=metaferry"
    )
    assert not [name for name in rights if "-test" in name]  # hook-succeeded removed the test's rights
    # The finished Pod stays: `helm test --logs` reads it after deleting hook-succeeded hooks
    # (helm/helm#9098); the next `helm test` replaces it (before-hook-creation).
    pod = cli.get("pod", f"{RELEASE}-test", "-n", RELEASE_NAMESPACE)
    assert pod is not None and pod["status"]["phase"] == "Succeeded"
    assert cli.get(f"ic/{RELEASE}-selftest", "-n", RELEASE_NAMESPACE) is None
