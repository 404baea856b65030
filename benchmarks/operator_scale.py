"""Operator scale: N connectors applied at once, time until every child exists and every status is written.

Floor, measured in the same run against the same API server: a bare client (the operator's own async
Kubernetes client, 20 requests in flight, the same count as the operator's pool) creating the same five
children per connector and writing one status each, with no watches, no runtime calls and no rendering
cost beyond the same pure functions. Pods run on the pod runner's fake node (reported Running/Ready at
once; nothing answers at their IPs, so statuses say RuntimeUnreachable, which is still a written status).

    python benchmarks/operator_scale.py [--count 1000]

The test control plane allocates Service IPs from 10.0.0.0/20 (one ClusterIP Service per connector), so
``--count 1000`` fits.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import _operator_common as common  # first: puts the repository on sys.path
from kubernetes import client

from metaferry_operator import kube, naming, rendering
from metaferry_operator.config import OperatorConfig
from metaferry_runtime.resource import ConnectorResource

FAKE_NODE = {"nodeSelector": {"kubernetes.io/hostname": "metaferry-test-node"}}  # the fake runner's node


def _connectors(namespace: str, count: int) -> list[dict[str, Any]]:
    return [common.manifest(f"c{index:04d}", namespace, pod=FAKE_NODE) for index in range(count)]


async def _create_all(kube_client: kube.KubeClient, manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    limit = asyncio.Semaphore(20)
    path = "/apis/metaferry.io/v1alpha1/namespaces/{}/integrationconnectors"

    async def create(body: dict[str, Any]) -> dict[str, Any]:
        async with limit:
            return await kube_client.create(path.format(body["metadata"]["namespace"]), body)

    return list(await asyncio.gather(*(create(body) for body in manifests)))


async def _apply(namespace: str, count: int) -> None:
    kube_client = kube.KubeClient.connect(max_connections=20)
    await _create_all(kube_client, _connectors(namespace, count))
    await kube_client.aclose()


async def _floor(namespace: str, count: int) -> float:
    """Create connectors, then what the operator would: 5 children + 1 status write each."""
    kube_client = kube.KubeClient.connect(max_connections=20)
    config = OperatorConfig()
    limit = asyncio.Semaphore(20)
    started = time.monotonic()
    created = await _create_all(kube_client, _connectors(namespace, count))

    async def reconcile(body: dict[str, Any]) -> None:
        async with limit:
            connector = ConnectorResource.model_validate(
                {k: body[k] for k in ("apiVersion", "kind", "metadata", "spec")}
            )
            for child in rendering.children(connector, config=config, token="x" * 43, secret_digest=None):
                await kube_client.apply(child, field_manager="bench-floor")
            path = kube.object_path(
                api_version="metaferry.io/v1alpha1",
                kind="IntegrationConnector",
                namespace=namespace,
                name=body["metadata"]["name"],
                plural=naming.RESOURCE_PLURAL,
            )
            await kube_client.merge_patch(path + "/status", {"status": {"observedGeneration": 1}})

    await asyncio.gather(*(reconcile(body) for body in created))
    elapsed = time.monotonic() - started
    await kube_client.aclose()
    return elapsed


def _converged(api: client.ApiClient, namespace: str, count: int) -> bool:
    custom = client.CustomObjectsApi(api)
    items = custom.list_namespaced_custom_object("metaferry.io", "v1alpha1", namespace, "integrationconnectors")[
        "items"
    ]
    written = sum(1 for item in items if (item.get("status") or {}).get("observedGeneration"))
    if written < count:
        return False
    selector = "app.kubernetes.io/managed-by=metaferry-operator"
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    networking = client.NetworkingV1Api(api)
    counts = [
        len(apps.list_namespaced_deployment(namespace, label_selector=selector).items),
        len(core.list_namespaced_config_map(namespace, label_selector=selector).items),
        len(core.list_namespaced_secret(namespace, label_selector=selector).items),
        len(core.list_namespaced_service(namespace, label_selector=selector).items),
        len(networking.list_namespaced_network_policy(namespace, label_selector=selector).items),
    ]
    return all(found == count for found in counts)


def _delete_namespace(api: client.ApiClient, name: str) -> None:
    core = client.CoreV1Api(api)
    core.delete_namespace(name)

    def gone() -> bool:
        try:
            core.read_namespace(name)
            return False
        except client.ApiException as error:
            return kube.is_not_found(error)

    common.wait_for(gone, timeout=600, interval=1.0, what=f"namespace {name} deleted")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=1000, help="connectors to apply at once (default 1000)")
    args = parser.parse_args()
    with common.cluster(mode="fake") as (plane, api, _runner):
        os.environ["KUBECONFIG"] = str(plane.kubeconfig)  # for the floor's client
        common.create_namespace(api, "floor")
        floor = asyncio.run(_floor("floor", args.count))
        _delete_namespace(api, "floor")  # frees its Service IPs for the operator's run

        common.create_namespace(api, "bench")
        log = Path(plane.workdir) / "operator.log"
        operator = common.Operator(plane, namespace="bench", log=log, METAFERRY_STATUS_POLL_INTERVAL="30")
        started = time.monotonic()
        asyncio.run(_apply("bench", args.count))
        created = time.monotonic() - started
        try:
            common.wait_for(
                lambda: _converged(api, "bench", args.count), timeout=3600, interval=1.0, what="convergence"
            )
            elapsed = time.monotonic() - started
            rss = operator.peak_rss_mib()
        finally:
            operator.stop()
    print(
        common.table(
            ("what", "connectors", "seconds", "per connector (ms)", "ratio to floor"),
            [
                (
                    "floor: bare client, 5 applies + 1 status each",
                    str(args.count),
                    f"{floor:.1f}",
                    f"{1000 * floor / args.count:.1f}",
                    "1.00",
                ),
                (
                    "operator: every child + every status",
                    str(args.count),
                    f"{elapsed:.1f}",
                    f"{1000 * elapsed / args.count:.1f}",
                    f"{elapsed / floor:.2f}",
                ),
                ("  (of which creating the connectors)", str(args.count), f"{created:.1f}", "", ""),
            ],
        )
    )
    print(json.dumps({"operator_peak_rss_mib": round(rss, 1)}))


if __name__ == "__main__":
    main()
