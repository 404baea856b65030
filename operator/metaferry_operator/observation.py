"""Pure summaries of what the watches deliver: the runtime pod and the Deployment.

The reconciler and the status computation read these small frozen records instead of raw API objects,
so a test can state "a crash-looping pod" in one line, and only the fields that matter reach the
operator's memory (pods carry no secrets, but keeping less keeps 1,000 connectors cheap).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from metaferry_operator import naming
from metaferry_operator.json_types import Json

#: Container waiting reasons that mean the pod will not come up without a change or a backoff.
FAILING_WAIT_REASONS = frozenset(
    {
        "CrashLoopBackOff",
        "ImagePullBackOff",
        "ErrImagePull",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
    }
)


@dataclasses.dataclass(frozen=True)
class PodObservation:
    name: str
    created: str
    phase: str
    ip: str | None
    ready: bool
    running: bool
    restart_count: int
    config_hash: str | None
    deleting: bool
    waiting_reason: str | None = None
    waiting_message: str | None = None
    terminated_reason: str | None = None

    @property
    def failing(self) -> bool:
        return self.phase == "Failed" or self.waiting_reason in FAILING_WAIT_REASONS


@dataclasses.dataclass(frozen=True)
class DeploymentObservation:
    generation: int
    observed_generation: int
    replicas: int
    updated_replicas: int
    ready_replicas: int


def observe_pod(pod: Json) -> PodObservation:
    meta, status = pod["metadata"], pod.get("status") or {}
    containers = status.get("containerStatuses") or []
    runtime = next(
        (c for c in containers if c.get("name") == naming.CONTAINER_NAME), containers[0] if containers else {}
    )
    state = runtime.get("state") or {}
    waiting = state.get("waiting") or {}
    terminated = state.get("terminated") or (runtime.get("lastState") or {}).get("terminated") or {}
    conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
    return PodObservation(
        name=meta["name"],
        created=meta.get("creationTimestamp") or "",
        phase=status.get("phase") or "Pending",
        ip=status.get("podIP") or None,
        ready=conditions.get("Ready") == "True" and bool(runtime.get("ready")),
        running="running" in state,
        restart_count=int(runtime.get("restartCount") or 0),
        config_hash=(meta.get("annotations") or {}).get(naming.CONFIG_HASH_ANNOTATION),
        deleting=bool(meta.get("deletionTimestamp")),
        waiting_reason=waiting.get("reason"),
        waiting_message=waiting.get("message"),
        terminated_reason=terminated.get("reason"),
    )


def current_pod(pods: Iterable[PodObservation]) -> PodObservation | None:
    """The pod that speaks for the connector: the newest one not being deleted, else the newest one."""
    ordered = sorted(pods, key=lambda pod: (not pod.deleting, pod.created, pod.name), reverse=True)
    return ordered[0] if ordered else None


def observe_deployment(deployment: Json) -> DeploymentObservation:
    status = deployment.get("status") or {}
    return DeploymentObservation(
        generation=int(deployment["metadata"].get("generation") or 0),
        observed_generation=int(status.get("observedGeneration") or 0),
        replicas=int((deployment.get("spec") or {}).get("replicas", 1)),
        updated_replicas=int(status.get("updatedReplicas") or 0),
        ready_replicas=int(status.get("readyReplicas") or 0),
    )
