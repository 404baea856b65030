"""`helm install --set highAvailability.enabled=true`: two operator pods, one Lease, a hand-over.

The chart's leader-election Role is all the replicas have (the pod runner gives each pod its own
service-account token), so a missing verb shows up here as a replica that never leads.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import (
    RELEASE_NAMESPACE,
    Cli,
    Json,
    condition,
    files_connector,
    installed,
    request_refresh,
    wait_connector_ready,
    wait_refresh_handled,
)
from tests.waiting import wait_for

pytestmark = pytest.mark.cluster
LEASE = "metaferry-operator"


def ready_operator_pods(cli: Cli) -> list[Json]:
    return [
        pod
        for pod in cli.operator_pods()
        if not pod["metadata"].get("deletionTimestamp") and (condition(pod, "Ready") or {}).get("status") == "True"
    ]


def leader_pod(cli: Cli) -> str | None:
    """The live operator pod named in the Lease (whose holder identity is ``<pod name>_<random suffix>``)."""
    lease = cli.get("lease", LEASE, "-n", RELEASE_NAMESPACE)
    holder = ((lease or {}).get("spec") or {}).get("holderIdentity") or ""
    names = {pod["metadata"]["name"] for pod in ready_operator_pods(cli)}
    return next((name for name in names if holder.startswith(f"{name}_")), None)


def test_two_replicas_elect_one_leader_and_hand_over_on_pod_deletion(
    cli: Cli, namespace: str, pod_visible_dirs: Callable[[str], Path]
) -> None:
    with installed(cli, "--set", "highAvailability.enabled=true"):
        wait_for(lambda: len(ready_operator_pods(cli)) == 2, timeout=240, interval=0.5, what="two Ready operators")
        first = wait_for(lambda: leader_pod(cli), timeout=120, interval=0.5, what="a leader in the Lease")

        cli.kubectl("apply", "-f", str(files_connector(pod_visible_dirs("ha"))), "-n", namespace)
        wait_connector_ready(cli, namespace, "sample-files")
        wait_refresh_handled(cli, namespace, "sample-files", request_refresh(cli, namespace, "sample-files"))

        cli.kubectl("delete", "pod", first, "-n", RELEASE_NAMESPACE, "--wait=true", "--timeout=120s")
        second = wait_for(
            lambda: (name := leader_pod(cli)) != first and name, timeout=120, interval=0.5, what="a new leader"
        )
        assert second != first
        status = wait_refresh_handled(cli, namespace, "sample-files", request_refresh(cli, namespace, "sample-files"))
        assert condition({"status": status}, "Ready")["status"] == "True"  # type: ignore[index]
