"""kubernetes-cluster: first refresh and watch latency on N Deployments, beside floors measured in the same run.

Starts the test control plane (`tests/cluster`), creates N Deployments (default 2,000; `replicas: 0`, so
the control plane holds N Deployments and N ReplicaSets but no pods, which a two-core machine could not run)
and drives the connector with the test kit's harness over a fresh SQLite repository.

1. First refresh: every resource listed, catalogued and committed. Floor: the same lists with the same
   client and no catalogue. Target: ≤ 3× the floor. Also a refresh with nothing changed.
2. Watch latency: create a Deployment, call engage() (as the engage thread does) until the repository
   holds it; p50/p99 over `--rounds`. Floor: a bare watch on deployments seeing the same creation.
   Target: p99 ≤ 1 s.

Run: python benchmarks/kubernetes_cluster.py [--deployments N] [--rounds R]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import percentile, stopwatch, table
from kubernetes import client, config

from metaferry_runtime.connectors.kubernetes_cluster import KubernetesClusterConnector
from metaferry_runtime.connectors.kubernetes_cluster import client as kube
from metaferry_runtime.connectors.kubernetes_cluster.resources import RESOURCES
from metaferry_runtime.testing import ConnectorHarness
from tests.cluster import tools
from tests.cluster.control_plane import running
from tests.connectors import kubernetes_objects as k8s

NAMESPACE = "bench"


def create_deployments(api: client.ApiClient, count: int) -> None:
    apps = client.AppsV1Api(api)
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(
            pool.map(
                lambda i: apps.create_namespaced_deployment(NAMESPACE, k8s.deployment(f"d{i:05}", replicas=0)),
                range(count),
            )
        )


def bare_lists(api: client.ApiClient) -> float:
    with stopwatch() as elapsed:
        for resource in RESOURCES:
            kube.list_all(api, resource.path, timeout=60, page_size=500)
    return elapsed[0]


def bare_watch_latency(api: client.ApiClient, rounds: int) -> list[float]:
    """Create a Deployment, read the watch until its ADDED event: seconds, per round."""
    apps = client.AppsV1Api(api)
    _, version = kube.list_all(api, "/apis/apps/v1/deployments", timeout=60, page_size=500)
    response = kube.request(
        api,
        f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments",
        timeout=(10, 600),
        watch="true",
        resourceVersion=version,
        timeoutSeconds=600,
    )
    lines = kube.lines(response)
    latencies = []
    for round_ in range(rounds):
        name = f"floor-{round_}"
        started = time.perf_counter()
        apps.create_namespaced_deployment(NAMESPACE, k8s.deployment(name, replicas=0))
        for line in lines:
            event = json.loads(line)
            if event["type"] == "ADDED" and event["object"]["metadata"]["name"] == name:
                break
        latencies.append(time.perf_counter() - started)
    response.close()
    return latencies


def connector_watch_latency(
    harness: ConnectorHarness[KubernetesClusterConnector], api: client.ApiClient, rounds: int
) -> list[float]:
    apps = client.AppsV1Api(api)
    latencies = []
    for round_ in range(rounds):
        name = f"watched-{round_}"
        started = time.perf_counter()
        apps.create_namespaced_deployment(NAMESPACE, k8s.deployment(name, replicas=0))
        suffix = f"/namespaces/{NAMESPACE}/deployments/{name}"
        while not any(
            event.element is not None and event.element.qualified_name.endswith(suffix)
            for event in harness.engage_once()
        ):
            pass
        latencies.append(time.perf_counter() - started)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployments", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="metaferry-bench-") as work,
        running(bin_dir=tools.bin_dir(), workdir=Path(work)) as plane,
    ):
        api = config.new_client_from_config(config_file=str(plane.kubeconfig))
        client.CoreV1Api(api).create_namespace({"metadata": {"name": NAMESPACE}})
        with stopwatch() as created:
            create_deployments(api, args.deployments)
        print(f"created {args.deployments} Deployments in {created[0]:.1f}s", file=sys.stderr)
        floor_list = min(bare_lists(api) for _ in range(3))
        with ConnectorHarness.create(
            KubernetesClusterConnector, endpoint=str(plane.kubeconfig), uses_blocking_calls=True
        ) as harness:
            with stopwatch() as first:
                harness.refresh()
            with stopwatch() as again:
                harness.refresh()
            harness.engage_once()  # lists once more and starts the watches
            floor_watch = bare_watch_latency(api, args.rounds)
            watched = connector_watch_latency(harness, api, args.rounds)
        api.close()
    rows = [
        ["first refresh", f"{floor_list:.2f} s", f"{first[0]:.2f} s", f"{first[0] / floor_list:.1f}×", "≤ 3× floor"],
        ["no-change refresh", f"{floor_list:.2f} s", f"{again[0]:.2f} s", f"{again[0] / floor_list:.1f}×", "–"],
        [
            "watch p50",
            f"{percentile(floor_watch, 0.5) * 1000:.0f} ms",
            f"{percentile(watched, 0.5) * 1000:.0f} ms",
            f"{percentile(watched, 0.5) / percentile(floor_watch, 0.5):.1f}×",
            "–",
        ],
        [
            "watch p99",
            f"{percentile(floor_watch, 0.99) * 1000:.0f} ms",
            f"{percentile(watched, 0.99) * 1000:.0f} ms",
            f"{percentile(watched, 0.99) / percentile(floor_watch, 0.99):.1f}×",
            "≤ 1 s",
        ],
    ]
    print(f"kubernetes-cluster, {args.deployments} Deployments ({args.rounds} watch rounds)")
    print(table(["measure", "floor", "metaferry", "ratio", "target"], rows))


if __name__ == "__main__":
    main()
