"""What the watches saw, kept small: connector pods, children's versions and Secret digests.

kopf delivers every watch event to a handler in ``handlers``, which records it here and wakes the
connector it concerns. The reconciler reads this instead of asking the API server on every pass, so
1,000 connectors polled every 10 seconds do not cost 100 API reads a second. A miss is never trusted
as "absent" for anything that would cause a restart: Secret digests fall back to a direct read.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from metaferry_operator.observation import DeploymentObservation, PodObservation

Key = tuple[str, str]  # (namespace, connector name)


@dataclasses.dataclass(frozen=True)
class ChildVersion:
    resource_version: str
    generation: int


def child_version(kind: str, body: Mapping[str, Any]) -> ChildVersion:
    """The version of a child as an apply's answer or a watch event shows it. Only a Deployment's
    generation is kept: the other kinds have none (an edit shows as a new resourceVersion)."""
    meta = body.get("metadata") or {}
    return ChildVersion(
        resource_version=meta.get("resourceVersion", ""),
        generation=int(meta.get("generation") or 0) if kind == "Deployment" else 0,
    )


def _number(resource_version: str) -> int:
    """Resource versions are etcd revisions; compared as numbers to order what we applied against watch events."""
    try:
        return int(resource_version)
    except ValueError:
        return 0


class WorldCache:
    def __init__(self) -> None:
        self._pods: dict[Key, dict[str, PodObservation]] = defaultdict(dict)
        self._children: dict[Key, dict[str, ChildVersion]] = defaultdict(dict)
        self._deployments: dict[Key, DeploymentObservation] = {}
        self._secret_digests: dict[Key, str | None] = {}

    # pods, by the connector they run
    def set_pod(self, key: Key, pod: PodObservation) -> None:
        self._pods[key][pod.name] = pod

    def drop_pod(self, key: Key, name: str) -> None:
        self._pods.get(key, {}).pop(name, None)

    def pods(self, key: Key) -> list[PodObservation]:
        return list(self._pods.get(key, {}).values())

    # children, by kind
    def set_child(self, key: Key, kind: str, version: ChildVersion) -> None:
        self._children[key][kind] = version

    def drop_child(self, key: Key, kind: str) -> None:
        self._children.get(key, {}).pop(kind, None)
        if kind == "Deployment":
            self._deployments.pop(key, None)

    def record_applied(self, key: Key, kind: str, version: ChildVersion) -> None:
        """What an apply returned, unless the watch already reported a newer version: a pass woken by one
        child's event then does not take the siblings whose events are still on their way for deleted ones
        (a second round of applies for every new connector). An out-of-order event can only cause an extra
        apply, never hide drift."""
        seen = self.child(key, kind)
        if seen is None or _number(seen.resource_version) < _number(version.resource_version):
            self._children[key][kind] = version

    def child(self, key: Key, kind: str) -> ChildVersion | None:
        return self._children.get(key, {}).get(kind)

    def set_deployment(self, key: Key, deployment: DeploymentObservation) -> None:
        self._deployments[key] = deployment

    def deployment(self, key: Key) -> DeploymentObservation | None:
        return self._deployments.get(key)

    # Secret digests, by (namespace, Secret name); None records "known not to exist"
    def set_secret_digest(self, key: Key, digest: str | None) -> None:
        self._secret_digests[key] = digest

    def secret_digest(self, key: Key) -> tuple[bool, str | None]:
        """(known, digest)."""
        if key in self._secret_digests:
            return True, self._secret_digests[key]
        return False, None

    def forget(self, key: Key) -> None:
        """Drop everything about a deleted connector (its Secret digests may serve others and stay)."""
        self._pods.pop(key, None)
        self._children.pop(key, None)
        self._deployments.pop(key, None)
