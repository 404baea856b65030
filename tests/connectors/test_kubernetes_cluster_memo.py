"""The watcher's memo of workloads' elements: a burst re-makes only what changed, and never keeps a stale
element when the workload, its pods or the Services that reach it changed (plain objects, no cluster)."""

from __future__ import annotations

import copy
from typing import Any

from metaferry_runtime.connectors.kubernetes_cluster.model import ServerMemo, catalogue_of, platform_of
from metaferry_runtime.connectors.kubernetes_cluster.resources import Snapshot
from metaferry_runtime.connectors.kubernetes_cluster.settings import KubernetesClusterSettings
from tests.connectors import kubernetes_objects as k8s

PLATFORM = platform_of("cid", {"gitVersion": "v1.33.0"}, server="https://api", display_name="")


def placed(obj: dict[str, Any], version: str, uid: str) -> dict[str, Any]:
    obj = copy.deepcopy(obj)
    obj["metadata"].update(namespace="shop", uid=uid, resourceVersion=version)
    return obj


def servers(snapshot: Snapshot, memo: ServerMemo) -> dict[str, Any]:
    catalogue = catalogue_of(
        snapshot, cluster_id="cid", platform=PLATFORM, settings=KubernetesClusterSettings(), memo=memo
    )
    return {upsert.qualified_name: upsert for upsert in catalogue.servers}


def test_unchanged_workloads_are_reused_and_changed_ones_re_made() -> None:
    snapshot = Snapshot()
    snapshot.replace("namespaces", [{"metadata": {"name": "shop", "uid": "n", "resourceVersion": "1"}}], "1")
    web, api = placed(k8s.deployment("web"), "1", "w"), placed(k8s.deployment("api"), "2", "a")
    snapshot.replace("deployments", [web, api], "2")
    memo: ServerMemo = {}
    first = servers(snapshot, memo)
    web_name, api_name = sorted(first, reverse=True)
    assert web_name.endswith("/deployments/web") and set(memo) == set(first)

    scaled = placed(k8s.deployment("web", replicas=3), "3", "w")
    snapshot.apply("deployments", "MODIFIED", scaled)
    second = servers(snapshot, memo)
    assert second[api_name] is first[api_name]  # not re-made
    assert second[web_name].properties["additionalProperties"]["replicas"] == "3"

    service = placed(k8s.service("web", "web"), "4", "s")
    snapshot.apply("services", "ADDED", service)
    third = servers(snapshot, memo)  # the workload did not change, what reaches it did
    assert third[web_name].properties["additionalProperties"]["endpoints"].endswith("/services/web")
    assert "endpoints" not in third[api_name].properties["additionalProperties"]

    snapshot.apply("deployments", "DELETED", api)
    assert set(servers(snapshot, memo)) == {web_name} and set(memo) == {web_name}
