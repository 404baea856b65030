"""kopf registrations, kept thin: each handler records what a watch saw and wakes the connector's task.

There are deliberately no create/update/resume/daemon/timer handlers on IntegrationConnectors: the
per-connector tasks in ``supervisor`` reconcile level-triggered from the latest body, so kopf keeps no
progress or diff-base annotations on users' objects and adds no finalizer (``kubectl delete`` never
hangs when the operator is down). kopf's own storage is still moved under our domain, in case a
handler needing it is added later.

Children are watched by the ``app.kubernetes.io/managed-by`` label: a deleted or edited child wakes its
connector, which re-applies it. Secrets are watched in full (digests only, never values are kept), so
editing a referenced Secret rolls the connector's pod.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any, cast

import kopf

from metaferry_operator import kube, metrics, naming, rendering
from metaferry_operator.cache import WorldCache, child_version
from metaferry_operator.config import OperatorConfig
from metaferry_operator.leader import LeaderElector, lease_settings
from metaferry_operator.observation import observe_deployment, observe_pod
from metaferry_operator.reconciler import Dependencies
from metaferry_operator.repository_check import RepositoryCheck
from metaferry_operator.runtime_client import RuntimeClient
from metaferry_operator.supervisor import Supervisor

logger = logging.getLogger(__name__)
MANAGED = {naming.LABEL_MANAGED_BY: naming.MANAGED_BY}
_CHILD_KINDS = (
    ("", "v1", "configmaps", "ConfigMap"),
    ("", "v1", "services", "Service"),
    ("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy"),
)


@kopf.on.startup()
async def start(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    config: OperatorConfig = memo.config
    configure_kopf(settings, config)
    memo.kube = kube.KubeClient.connect(max_connections=config.max_workers)
    memo.cache = WorldCache()
    memo.supervisor = Supervisor(
        Dependencies(
            config=config,
            kube=memo.kube,
            runtime_client=functools.partial(RuntimeClient.open, timeout=config.http_timeout),
            cache=memo.cache,
            repository=RepositoryCheck.for_url(config.repository_url),
        ),
        active=not config.leader_election,
    )
    memo.elector = None
    if config.leader_election:
        memo.elector = LeaderElector(memo.kube, lease_settings(config))
        memo.leading = asyncio.create_task(_lead(memo), name="leader election")
    else:
        metrics.LEADER.set(1)
    if not config.repository_url:
        logger.warning(
            "METAFERRY_REPOSITORY_URL is empty: every connector pod keeps its own SQLite repository "
            "in an emptyDir (lost when the pod goes); set it to share one PostgreSQL repository"
        )


def configure_kopf(settings: kopf.OperatorSettings, config: OperatorConfig) -> None:
    """kopf's settings for an operator whose handlers only record and wake (see the module docstring)."""
    settings.persistence.finalizer = f"{naming.GROUP}/finalizer"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=naming.GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=naming.GROUP, key="last-handled-configuration"
    )
    settings.posting.level = logging.ERROR  # our own Events (module `events`) tell the connector's story
    settings.execution.max_workers = config.max_workers
    settings.networking.request_timeout = 60
    settings.watching.server_timeout = 600
    # kopf keeps a worker per object alive, holding its last event's body, until the object has been
    # quiet this long (5 s by default): after a burst of 1,000 connectors that is ~7,000 bodies at once.
    # Our handlers return at once, so a short idle time costs only a new worker for the next event.
    settings.queueing.idle_timeout = 0.5


async def _lead(memo: kopf.Memo) -> None:
    """Stand by until this replica holds the Lease, act while it does, and stop the operator when it is lost.

    Losing the Lease ends the process (exit code 1, as controller-runtime does): a restarted replica
    rejoins as a standby with fresh state instead of guessing what the new leader has done meanwhile.
    """
    elector: LeaderElector = memo.elector
    await elector.acquire()
    metrics.LEADER.set(1)
    memo.supervisor.activate()
    await elector.hold()
    metrics.LEADER.set(0)
    await memo.supervisor.close()
    memo.leadership_lost = True
    memo.stop_flag.set()


@kopf.on.cleanup()
async def stop(memo: kopf.Memo, **_: Any) -> None:
    if memo.elector is not None:
        memo.leading.cancel()
    await memo.supervisor.close()
    if memo.elector is not None:
        await memo.elector.release()  # only after every task has stopped acting
    await memo.kube.aclose()


@kopf.on.probe(id="connectors")
async def connectors(memo: kopf.Memo, **_: Any) -> int:
    return len(memo.supervisor)


@kopf.on.event(naming.GROUP, naming.VERSION, naming.RESOURCE_PLURAL)
async def connector_event(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
    memo.supervisor.observe_connector(_raw(event), deleted=event["type"] == "DELETED")


def _raw(event: kopf.RawEvent) -> dict[str, Any]:
    return cast(dict[str, Any], event["object"])


def _owner(meta: dict[str, Any]) -> tuple[str, str] | None:
    instance = (meta.get("labels") or {}).get(naming.LABEL_INSTANCE)
    return (meta["namespace"], instance) if instance and meta.get("namespace") else None


@kopf.on.event("", "v1", "pods", labels=MANAGED)
async def pod_event(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
    meta = _raw(event)["metadata"]
    key = _owner(meta)
    if key is None:
        return
    if event["type"] == "DELETED":
        memo.cache.drop_pod(key, meta["name"])
    else:
        memo.cache.set_pod(key, observe_pod(_raw(event)))
    memo.supervisor.wake(key)


def _record_child(event: kopf.RawEvent, memo: kopf.Memo, kind: str) -> None:
    """Record a child's version and wake its connector, unless the event only echoes our own apply."""
    meta = _raw(event)["metadata"]
    key = _owner(meta)
    if key is None or meta["name"] != naming.child_name(key[1]):
        return
    if event["type"] == "DELETED":
        memo.cache.drop_child(key, kind)
    else:
        version = child_version(kind, _raw(event))
        if kind == "Deployment":
            memo.cache.set_deployment(key, observe_deployment(_raw(event)))
        if memo.cache.child(key, kind) == version:
            return  # the version our apply returned: the pass that applied it knew all of it
        memo.cache.set_child(key, kind, version)
    memo.supervisor.wake(key)


@kopf.on.event("apps", "v1", "deployments", labels=MANAGED)
async def deployment_event(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
    _record_child(event, memo, "Deployment")


def _register_child_watch(group: str, version: str, plural: str, kind: str) -> None:
    async def child_event(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
        _record_child(event, memo, kind)

    kopf.on.event(group, version, plural, labels=MANAGED, id=f"{plural}_event")(child_event)


for _group, _version, _plural, _kind in _CHILD_KINDS:
    _register_child_watch(_group, _version, _plural, _kind)


@kopf.on.event("", "v1", "secrets")
async def secret_event(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
    """Any Secret: keep its digest (for connectors referencing it), and track our own runtime Secrets."""
    meta = _raw(event)["metadata"]
    namespace, name = meta.get("namespace"), meta.get("name")
    if not namespace or not name:
        return
    deleted = event["type"] == "DELETED"
    memo.cache.set_secret_digest(
        (namespace, name), None if deleted else rendering.secret_digest(_raw(event).get("data") or {})
    )
    memo.supervisor.wake_secret_users(namespace, name)
    if (meta.get("labels") or {}).get(naming.LABEL_MANAGED_BY) == naming.MANAGED_BY:
        _record_child(event, memo, "Secret")
