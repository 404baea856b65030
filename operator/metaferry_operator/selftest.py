"""`helm test` for a metaferry release: the path a user takes, run from inside the cluster.

The chart's test hook runs ``python -m metaferry_operator.selftest`` in the metaferry image, with a
ServiceAccount that may only create, read, annotate and delete IntegrationConnectors in one namespace.
It does what the chart's NOTES tell a user to do and fails with the connector's own status if any
step does not happen before the deadline:

1. create a sample ``directory-monitor`` connector over an emptyDir mounted into its pod (a directory
   that exists in every cluster, the test pod runner included);
2. wait for the ``Ready`` condition (``kubectl wait --for=condition=Ready``);
3. request a refresh with the ``metaferry.io/refresh-requested-at`` annotation and wait until the
   operator echoes the value in ``status.lastHandledRefreshAt``;
4. delete the connector and wait until it is gone, so that the release leaves nothing behind.

It talks to the API with the official client (in-cluster credentials, else the kubeconfig), polls with
a deadline, and never sleeps longer than the poll period.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

from metaferry_operator import kube, naming
from metaferry_operator.json_types import Json

SAMPLE_DIRECTORY = "/var/lib/metaferry-selftest"
POLL_SECONDS = 1.0


class SelftestFailed(Exception):
    """A step did not complete; the message says which, and what the connector's status said."""


def sample_connector(*, name: str, namespace: str) -> Json:
    """The IntegrationConnector the test applies: a directory monitor over an empty directory."""
    return {
        "apiVersion": f"{naming.GROUP}/{naming.VERSION}",
        "kind": naming.RESOURCE_KIND,
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/part-of": "metaferry", "app.kubernetes.io/component": "test"},
        },
        "spec": {
            "integrationService": "files",
            "connector": "directory-monitor",
            "connection": {"endpoint": SAMPLE_DIRECTORY},
            "pod": {
                "volumes": [{"name": "selftest-data", "emptyDir": {}}],
                "volumeMounts": [{"name": "selftest-data", "mountPath": SAMPLE_DIRECTORY, "readOnly": True}],
            },
        },
    }


def condition(obj: Json, kind: str) -> Json | None:
    """The condition of type ``kind`` in the object's status, if any."""
    for item in (obj.get("status") or {}).get("conditions") or []:
        if item.get("type") == kind:
            return dict(item)
    return None


def is_ready(obj: Json) -> bool:
    ready = condition(obj, "Ready")
    return ready is not None and ready.get("status") == "True"


def describe(obj: Json | None) -> str:
    """A one-line summary of a connector's status for progress and failure messages."""
    if obj is None:
        return "the connector does not exist"
    status = obj.get("status") or {}
    ready = condition(obj, "Ready") or {}
    return (
        f"phase={status.get('phase')} connectorStatus={status.get('connectorStatus')} "
        f"Ready={ready.get('status')} reason={ready.get('reason')} message={ready.get('message')!r} "
        f"lastError={status.get('lastError')!r}"
    )


class Connectors:
    """The four calls the test makes on IntegrationConnectors in one namespace."""

    def __init__(self, *, api: Any, namespace: str) -> None:
        self._api = api
        self._namespace = namespace
        self._where = {
            "group": naming.GROUP,
            "version": naming.VERSION,
            "namespace": namespace,
            "plural": naming.RESOURCE_PLURAL,
        }

    def get(self, name: str) -> Json | None:
        try:
            return dict(self._api.get_namespaced_custom_object(name=name, **self._where))
        except ApiException as error:
            if kube.is_not_found(error):
                return None
            raise

    def create(self, body: Json) -> None:
        self._api.create_namespaced_custom_object(body=body, **self._where)

    def annotate(self, name: str, key: str, value: str) -> None:
        patch = {"metadata": {"annotations": {key: value}}}
        self._api.patch_namespaced_custom_object(name=name, body=patch, **self._where)

    def delete(self, name: str) -> None:
        try:
            self._api.delete_namespaced_custom_object(name=name, **self._where)
        except ApiException as error:
            if not kube.is_not_found(error):
                raise


def wait_for(*, what: str, check: Callable[[], Json | bool | None], deadline: float, report: Callable[[], str]) -> None:
    """Poll ``check`` until it returns something true; raise SelftestFailed with ``report()`` at the deadline."""
    last = ""
    while True:
        if check():
            return
        now_report = report()
        if now_report != last:
            print(f"selftest: waiting for {what}: {now_report}", flush=True)
            last = now_report
        if time.monotonic() >= deadline:
            raise SelftestFailed(f"{what} did not happen in time; last seen: {now_report}")
        time.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))


def run(*, connectors: Connectors, name: str, namespace: str, timeout: float) -> None:
    """The four steps; raises SelftestFailed on the first one that does not complete."""
    deadline = time.monotonic() + timeout
    if connectors.get(name) is not None:  # left over by an interrupted earlier run
        print(f"selftest: deleting the leftover connector {namespace}/{name}", flush=True)
        connectors.delete(name)
        wait_for(
            what="the leftover connector to go",
            check=lambda: connectors.get(name) is None,
            deadline=deadline,
            report=lambda: describe(connectors.get(name)),
        )
    connectors.create(sample_connector(name=name, namespace=namespace))
    print(f"selftest: created IntegrationConnector {namespace}/{name}", flush=True)
    try:
        wait_for(
            what="condition Ready=True",
            check=lambda: is_ready(connectors.get(name) or {}),
            deadline=deadline,
            report=lambda: describe(connectors.get(name)),
        )
        print("selftest: the connector is Ready", flush=True)
        token = datetime.now(UTC).isoformat(timespec="seconds")
        connectors.annotate(name, naming.REFRESH_ANNOTATION, token)

        def handled() -> bool:
            status = (connectors.get(name) or {}).get("status") or {}
            return bool(status.get("lastHandledRefreshAt") == token)

        wait_for(
            what=f"the refresh requested at {token} to be handled",
            check=handled,
            deadline=deadline,
            report=lambda: describe(connectors.get(name)),
        )
        print("selftest: the requested refresh was handled", flush=True)
    finally:
        connectors.delete(name)
    cleanup_deadline = max(deadline, time.monotonic() + 30)
    wait_for(
        what="the connector to be deleted",
        check=lambda: connectors.get(name) is None,
        deadline=cleanup_deadline,
        report=lambda: describe(connectors.get(name)),
    )
    print("selftest: passed", flush=True)


def _load_api() -> Any:
    try:
        k8s_config.load_incluster_config()  # type: ignore[no-untyped-call]
    except k8s_config.ConfigException:
        k8s_config.load_kube_config()  # type: ignore[no-untyped-call]
    return k8s_client.CustomObjectsApi()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m metaferry_operator.selftest", description=__doc__.split("\n")[0])
    parser.add_argument("--namespace", required=True, help="a namespace the operator watches")
    parser.add_argument("--name", default="metaferry-selftest", help="name of the sample connector")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds allowed for all steps")
    args = parser.parse_args(argv)
    connectors = Connectors(api=_load_api(), namespace=args.namespace)
    try:
        run(connectors=connectors, name=args.name, namespace=args.namespace, timeout=args.timeout)
    except SelftestFailed as error:
        print(f"selftest: FAILED: {error}", file=sys.stderr, flush=True)
        return 1
    except ApiException as error:
        print(
            f"selftest: FAILED: the API server answered {error.status} {error.reason}: {error.body}",
            file=sys.stderr,
            flush=True,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
