"""The chart installs into namespaces that enforce the "restricted" Pod Security Standard.

The API server's Pod Security admission refuses any pod that breaks the standard, so the operator,
the helm test pod and the connector pods the operator renders are all checked by the real thing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import (
    RELEASE_NAMESPACE,
    Cli,
    files_connector,
    helm_test,
    installed,
    wait_connector_ready,
    wait_operator_running,
)

pytestmark = pytest.mark.cluster

RESTRICTED = [
    "pod-security.kubernetes.io/enforce=restricted",
    "pod-security.kubernetes.io/enforce-version=latest",
    "pod-security.kubernetes.io/warn=restricted",
]


def restrict(cli: Cli, namespace: str) -> None:
    cli.kubectl("label", "namespace", namespace, *RESTRICTED, "--overwrite")


def test_operator_helm_test_and_connectors_are_admitted_under_restricted(
    cli: Cli, namespace: str, pod_visible_dirs: Callable[[str], Path]
) -> None:
    cli.kubectl("create", "namespace", RELEASE_NAMESPACE)
    restrict(cli, RELEASE_NAMESPACE)
    restrict(cli, namespace)
    with installed(cli, create_namespace=False) as result:
        assert "violate" not in result.stderr  # PSA warnings would name the violated rules
        pod = wait_operator_running(cli)
        assert pod["metadata"]["namespace"] == RELEASE_NAMESPACE
        failures = cli.kubectl(
            "get", "events", "-n", RELEASE_NAMESPACE, "--field-selector", "reason=FailedCreate", "-o", "name"
        ).stdout
        assert failures == ""

        manifest = files_connector(pod_visible_dirs("restricted"))
        cli.kubectl("apply", "-f", str(manifest), "-n", namespace)
        wait_connector_ready(cli, namespace, "sample-files")
        connector_failures = cli.kubectl(
            "get",
            "events",
            "-n",
            namespace,
            "--field-selector",
            "reason=FailedCreate",
            "-o",
            "jsonpath={.items[*].message}",
        ).stdout
        assert "violates PodSecurity" not in connector_failures

        tested, selftest_output = helm_test(cli)
        assert tested.returncode == 0, tested.stdout + tested.stderr + selftest_output + cli.operator_logs()
        assert "selftest: passed" in selftest_output
