"""The API resources the connector reads, and the snapshot of them that a refresh (or the watches) keeps.

A snapshot is, per resource, the objects by `namespace/name` (`name` for cluster-scoped ones), with the
resourceVersion each list or watch reached. Poll mode fills it from lists; blocking mode keeps it current
from watch events, so either mode hands the same snapshot to `model.catalogue_of`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Json = dict[str, Any]


@dataclass(frozen=True)
class Resource:
    """A collection path across all namespaces; `selected` resources get the user's label selector."""

    name: str
    path: str
    namespaced: bool = True
    selected: bool = False
    nodes: bool = False


RESOURCES = (
    Resource("nodes", "/api/v1/nodes", namespaced=False, nodes=True),
    Resource("namespaces", "/api/v1/namespaces", namespaced=False),
    Resource("deployments", "/apis/apps/v1/deployments", selected=True),
    Resource("statefulsets", "/apis/apps/v1/statefulsets", selected=True),
    Resource("daemonsets", "/apis/apps/v1/daemonsets", selected=True),
    Resource("cronjobs", "/apis/batch/v1/cronjobs", selected=True),
    # Read to find each pod's workload (a Deployment's pods belong to its ReplicaSets, a CronJob's to Jobs).
    Resource("replicasets", "/apis/apps/v1/replicasets"),
    Resource("jobs", "/apis/batch/v1/jobs"),
    Resource("pods", "/api/v1/pods"),
    Resource("services", "/api/v1/services", selected=True),
    Resource("ingresses", "/apis/networking.k8s.io/v1/ingresses", selected=True),
)

#: The workload resources catalogued as SoftwareServers, with the kind each one's objects have.
WORKLOADS = {
    "deployments": "Deployment",
    "statefulsets": "StatefulSet",
    "daemonsets": "DaemonSet",
    "cronjobs": "CronJob",
}


def key_of(obj: Json) -> str:
    metadata = obj.get("metadata") or {}
    namespace = metadata.get("namespace")
    name = str(metadata.get("name", ""))
    return f"{namespace}/{name}" if namespace else name


@dataclass
class Snapshot:
    """The objects of every resource, and the resourceVersion each one's list or watch reached."""

    objects: dict[str, dict[str, Json]] = field(default_factory=lambda: {r.name: {} for r in RESOURCES})
    versions: dict[str, str] = field(default_factory=dict)

    def replace(self, resource: str, items: list[Json], version: str) -> None:
        self.objects[resource] = {key_of(item): item for item in items}
        self.versions[resource] = version

    def apply(self, resource: str, event_type: str, obj: Json) -> bool:
        """One watch event (ADDED, MODIFIED, DELETED); True when the snapshot changed."""
        objects = self.objects[resource]
        key = key_of(obj)
        if event_type == "DELETED":
            return objects.pop(key, None) is not None
        previous = objects.get(key)
        objects[key] = obj
        return previous is None or _version(previous) != _version(obj)


def _version(obj: Json) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion", ""))
