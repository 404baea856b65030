"""Leader election on a ``coordination.k8s.io/v1`` Lease: of several operator replicas, one acts.

Why not kopf peering: peering pauses kopf's watch handlers, but this operator's work runs in its own
per-connector tasks (``supervisor``), which peering knows nothing of. A Lease gates exactly those tasks,
and it is what platform teams already read (``kubectl get lease``) for every controller-runtime operator.
The ``kubernetes`` client's own ``leaderelection`` is synchronous (a blocking loop with ``time.sleep`` on
a thread) and never releases the Lease; this one runs on the operator's event loop and hands over on exit.

The protocol is client-go's ``leaderelection``: the holder writes ``renewTime`` every ``retry_period``;
a candidate takes the Lease over only after it has seen the same record unchanged for a whole
``lease_duration`` by its own clock (so clock skew between nodes does not matter), and every write is
conditional on the ``resourceVersion`` it read. A holder that cannot renew within ``renew_deadline``
(shorter than ``lease_duration``) gives up before anyone else may take over, so two replicas never act
at once while their clocks run at the same rate.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from metaferry_operator.config import OperatorConfig
from metaferry_operator.json_types import Json
from metaferry_operator.kube import Conflict, KubeClient, KubeError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LeaseSettings:
    """Which Lease, who we are, and client-go's three timings (seconds; defaults are client-go's)."""

    namespace: str
    name: str
    identity: str
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0

    @property
    def path(self) -> str:
        return f"/apis/coordination.k8s.io/v1/namespaces/{self.namespace}/leases/{self.name}"


def _micro_time(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    """Acquire, hold and release one Lease; see the module docstring for the guarantees."""

    def __init__(
        self,
        kube: KubeClient,
        settings: LeaseSettings,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._kube = kube
        self.settings = settings
        self._monotonic = monotonic
        self._wall_clock = wall_clock
        self._observed: Json | None = None  # the Lease's spec as last read or written
        self._observed_at = 0.0  # when (monotonic) that spec was first seen
        self._observed_version = ""  # its resourceVersion: every write is conditional on it
        self.leading = False

    async def acquire(self) -> None:
        """Return once this replica holds the Lease (tries every ``retry_period``)."""
        waiting_logged = False
        while not await self._try():
            if not waiting_logged:
                holder = (self._observed or {}).get("holderIdentity")
                logger.info(
                    "standing by: lease %s/%s is held by %s", self.settings.namespace, self.settings.name, holder
                )
                waiting_logged = True
            await asyncio.sleep(self.settings.retry_period)
        self.leading = True
        logger.info("leading: acquired lease %s/%s as %s", self.settings.namespace, self.settings.name, self.identity)

    async def hold(self) -> None:
        """Renew the Lease until leadership is lost, then return (the caller must stop acting at once).

        Lost means another identity holds the record, or no renewal succeeded within ``renew_deadline``.
        """
        last_renewal = self._monotonic()
        while True:
            await asyncio.sleep(self.settings.retry_period)
            if await self._try():
                last_renewal = self._monotonic()
                continue
            holder = (self._observed or {}).get("holderIdentity")
            if holder != self.identity:
                logger.error(
                    "lost lease %s/%s: it is now held by %s", self.settings.namespace, self.settings.name, holder
                )
                break
            if self._monotonic() - last_renewal >= self.settings.renew_deadline:
                logger.error("lost lease %s/%s: not renewed in time", self.settings.namespace, self.settings.name)
                break
        self.leading = False

    async def release(self) -> None:
        """Hand the Lease back (holder emptied, duration 1 s) so a standby takes over without waiting.

        The Lease is read again first, as client-go does: a renewal cancelled by shutdown may have reached
        the API server without its answer reaching us, and a write carrying the older resourceVersion would
        be refused. It is released only if this replica still holds it.
        """
        if not self.leading:
            return
        self.leading = False
        where = f"{self.settings.namespace}/{self.settings.name}"
        try:
            lease = await self._kube.get(self.settings.path)
            current: Json = (lease or {}).get("spec") or {}
            if lease is None or current.get("holderIdentity") != self.identity:
                logger.info("lease %s is no longer ours: nothing to release", where)
                return
            released = {**current, "holderIdentity": None, "leaseDurationSeconds": 1}
            await self._write(released, resource_version=str(lease["metadata"].get("resourceVersion") or ""))
        except KubeError as error:
            logger.warning("could not release lease %s: %s", where, error)
        else:
            logger.info("released lease %s", where)

    @property
    def identity(self) -> str:
        return self.settings.identity

    async def _try(self) -> bool:
        """One acquire-or-renew attempt; False when someone else holds it or the API call failed."""
        try:
            async with asyncio.timeout(self.settings.retry_period):
                return await self._try_once()
        except (KubeError, TimeoutError) as error:
            logger.warning("lease %s/%s: %s", self.settings.namespace, self.settings.name, error or "timed out")
            return False

    async def _try_once(self) -> bool:
        lease = await self._kube.get(self.settings.path)
        now = _micro_time(self._wall_clock())
        if lease is None:
            return await self._create(self._spec(renew_time=now, acquire_time=now, transitions=0))
        self._observe(lease)
        current: Json = lease.get("spec") or {}
        holder = current.get("holderIdentity") or ""
        duration = float(current.get("leaseDurationSeconds") or self.settings.lease_duration)
        if holder and holder != self.identity and self._monotonic() < self._observed_at + duration:
            return False
        transitions = int(current.get("leaseTransitions") or 0)
        if holder == self.identity:
            spec = self._spec(renew_time=now, acquire_time=current.get("acquireTime") or now, transitions=transitions)
        else:
            spec = self._spec(renew_time=now, acquire_time=now, transitions=transitions + (1 if holder else 0))
        try:
            written = await self._write(spec, resource_version=self._observed_version)
        except Conflict:  # another replica wrote it between our read and our write
            return False
        self._observe(written)
        return True

    async def _create(self, spec: Json) -> bool:
        collection = self.settings.path.rsplit("/", 1)[0]
        lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": self.settings.name}}
        try:
            created = await self._kube.create(collection, {**lease, "spec": spec})
        except Conflict:  # another replica created it first
            return False
        self._observe(created)
        return True

    def _spec(self, *, renew_time: str, acquire_time: str, transitions: int) -> Json:
        return {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": max(1, round(self.settings.lease_duration)),
            "acquireTime": acquire_time,
            "renewTime": renew_time,
            "leaseTransitions": transitions,
        }

    async def _write(self, spec: Json, *, resource_version: str) -> Json:
        """A merge patch carrying the resourceVersion read: the API server refuses it (409) if that changed."""
        return await self._kube.merge_patch(
            self.settings.path, {"metadata": {"resourceVersion": resource_version}, "spec": spec}
        )

    def _observe(self, lease: Json) -> None:
        spec: Json = lease.get("spec") or {}
        if spec != self._observed:
            self._observed = spec
            self._observed_at = self._monotonic()
        self._observed_version = str(lease["metadata"].get("resourceVersion") or "")


def lease_settings(config: OperatorConfig) -> LeaseSettings:
    """The Lease of this operator; the identity is the pod's name (else the host's) plus a random suffix."""
    return LeaseSettings(
        namespace=config.leader_election_namespace or config.operator_namespace,
        name=config.leader_election_lease,
        identity=f"{config.pod_name or socket.gethostname()}_{uuid.uuid4().hex[:8]}",
        lease_duration=config.lease_duration,
        renew_deadline=config.lease_renew_deadline,
        retry_period=config.lease_retry_period,
    )
