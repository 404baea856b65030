"""`helm uninstall` leaves nothing of metaferry behind but what the chart README says it keeps.

The README's removal path: delete the connectors while the operator runs (it removes their finalizers
and the garbage collector their children), `helm uninstall`, then, to drop the kept CRD with it,
`kubectl delete crd integrationconnectors.metaferry.io`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import (
    RELEASE,
    RELEASE_NAMESPACE,
    Cli,
    files_connector,
    install_args,
    leftovers,
    wait_connector_ready,
    wait_gone,
)

pytestmark = pytest.mark.cluster

CRD = "integrationconnectors.metaferry.io"
# What the README says `helm uninstall` keeps besides the CRD: the bundled repository's password Secret (its
# PersistentVolumeClaim too, not a kind `leftovers` lists), so a reinstall finds the catalogue.
KEPT = [f"{RELEASE_NAMESPACE}/secret/{RELEASE}-postgresql"]


def test_uninstall_leaves_no_orphans_and_keeps_the_crd(
    cli: Cli, namespace: str, pod_visible_dirs: Callable[[str], Path]
) -> None:
    cli.helm(*install_args())
    try:
        manifest = files_connector(pod_visible_dirs("uninstall"))
        cli.kubectl("apply", "-f", str(manifest), "-n", namespace)
        wait_connector_ready(cli, namespace, "sample-files")
        assert cli.names(
            "deployments,services,networkpolicies", "-n", namespace, "-l", "app.kubernetes.io/part-of=metaferry"
        )  # the connector's children exist

        cli.kubectl("delete", "ic", "--all", "-n", namespace, "--wait=true", "--timeout=120s")
        wait_gone(
            lambda: (
                leftovers(cli, [namespace])
                and [n for n in leftovers(cli, [namespace]) if n.startswith(f"{namespace}/")]
            ),
            "the connector's children",
        )
    finally:
        cli.helm("uninstall", RELEASE, "-n", RELEASE_NAMESPACE, "--wait", "--timeout", "180s")

    wait_gone(
        lambda: [n for n in leftovers(cli, [RELEASE_NAMESPACE, namespace]) if n not in KEPT], "objects of the release"
    )
    assert leftovers(cli, [RELEASE_NAMESPACE]) == KEPT
    assert cli.names("pvc", "-n", RELEASE_NAMESPACE) == [f"persistentvolumeclaim/data-{RELEASE}-postgresql-0"]
    crd = cli.get("crd", CRD)
    assert crd is not None, "crds.keep: the CRD stays, with every connector in it"
    cli.kubectl("delete", "namespace", RELEASE_NAMESPACE, "--wait=true", "--timeout=180s")

    # A reinstall under the same release name and namespace adopts the kept CRD.
    cli.helm(*install_args())
    cli.helm("uninstall", RELEASE, "-n", RELEASE_NAMESPACE, "--wait", "--timeout", "180s")
    cli.kubectl("delete", "namespace", RELEASE_NAMESPACE, "--wait=true", "--timeout=180s")
    wait_gone(lambda: leftovers(cli, [RELEASE_NAMESPACE]), "objects of the second release")
