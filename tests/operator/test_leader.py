"""Lease leader election against the real API server: who leads, when a standby may take over, hand-over.

The standby's clock is injected where a test needs a Lease to expire, so expiry is decided by the
protocol (the same record seen unchanged for a whole lease duration), not by how fast this machine is.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from metaferry_operator.kube import KubeClient
from metaferry_operator.leader import LeaderElector, LeaseSettings
from tests.cluster.control_plane import ControlPlane

pytestmark = pytest.mark.cluster


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def kube(control_plane: ControlPlane) -> AsyncIterator[KubeClient]:
    configuration = k8s_client.Configuration()
    k8s_config.load_kube_config(  # type: ignore[no-untyped-call]
        config_file=str(control_plane.kubeconfig), client_configuration=configuration
    )
    api = KubeClient(configuration)
    yield api
    await api.aclose()


def elector(kube: KubeClient, namespace: str, identity: str, clock: Clock | None = None) -> LeaderElector:
    settings = LeaseSettings(
        namespace=namespace, name="ops", identity=identity, lease_duration=6, renew_deadline=4, retry_period=0.2
    )
    return LeaderElector(kube, settings) if clock is None else LeaderElector(kube, settings, monotonic=clock)


async def lease(kube: KubeClient, namespace: str) -> dict[str, object]:
    found = await kube.get(f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/ops")
    assert found is not None
    spec: dict[str, object] = found["spec"]
    return spec


async def renewed(kube: KubeClient, namespace: str, renew_time: object) -> None:
    for _ in range(600):
        if (await lease(kube, namespace))["renewTime"] != renew_time:
            return
        await asyncio.sleep(0.05)
    pytest.fail("the leader did not renew its lease within 30 s")


async def test_the_first_candidate_creates_the_lease_and_leads(kube: KubeClient, namespace: str) -> None:
    first = elector(kube, namespace, "a")
    await first.acquire()
    spec = await lease(kube, namespace)
    assert first.leading
    assert (spec["holderIdentity"], spec["leaseDurationSeconds"], spec["leaseTransitions"]) == ("a", 6, 0)
    assert spec["acquireTime"] == spec["renewTime"]


async def test_a_standby_takes_over_only_after_seeing_the_lease_unchanged_for_its_duration(
    kube: KubeClient, namespace: str
) -> None:
    await elector(kube, namespace, "a").acquire()  # then a goes silent: it never renews
    clock = Clock()
    standby = elector(kube, namespace, "b", clock)
    assert not await standby._try()
    clock.now += 5.9
    assert not await standby._try()
    clock.now += 0.2
    assert await standby._try()
    spec = await lease(kube, namespace)
    assert (spec["holderIdentity"], spec["leaseTransitions"]) == ("b", 1)


async def test_a_renewing_leader_keeps_the_lease(kube: KubeClient, namespace: str) -> None:
    leader = elector(kube, namespace, "a")
    await leader.acquire()
    holding = asyncio.create_task(leader.hold())
    clock = Clock()
    standby = elector(kube, namespace, "b", clock)
    for _ in range(5):  # each renewal changes the record, so the standby's wait starts again
        assert not await standby._try()
        await renewed(kube, namespace, (await lease(kube, namespace))["renewTime"])
        clock.now += 5.9
    assert not await standby._try()
    assert not holding.done() and leader.leading
    holding.cancel()


async def test_a_released_lease_is_taken_without_waiting(kube: KubeClient, namespace: str) -> None:
    leader = elector(kube, namespace, "a")
    await leader.acquire()
    standby = elector(kube, namespace, "b", Clock())
    assert not await standby._try()
    await leader.release()
    assert not leader.leading
    assert await standby._try()  # the standby's clock never moved
    spec = await lease(kube, namespace)
    assert (spec["holderIdentity"], spec["leaseTransitions"]) == ("b", 0)


async def test_a_leader_releases_the_lease_after_a_renewal_whose_answer_it_never_saw(
    kube: KubeClient, namespace: str
) -> None:
    """A renewal cancelled by shutdown can reach the API server without its answer reaching us: the Lease's
    resourceVersion then moved on, and a release carrying the old one was refused (409) and left the
    standby waiting for the whole lease duration."""
    leader = elector(kube, namespace, "a")
    await leader.acquire()
    path = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/ops"
    await kube.merge_patch(path, {"spec": {"renewTime": "2030-01-01T00:00:00.000000Z"}})  # our lost renewal
    await leader.release()
    spec = await lease(kube, namespace)
    assert (spec.get("holderIdentity"), spec["leaseDurationSeconds"]) == (None, 1)
    assert await elector(kube, namespace, "b", Clock())._try()  # taken at once


async def test_a_leader_never_releases_a_lease_someone_else_took(kube: KubeClient, namespace: str) -> None:
    leader = elector(kube, namespace, "a")
    await leader.acquire()
    path = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/ops"
    await kube.merge_patch(path, {"spec": {"holderIdentity": "intruder"}})
    await leader.release()
    assert (await lease(kube, namespace))["holderIdentity"] == "intruder"


async def test_a_leader_whose_lease_is_taken_stops_holding(kube: KubeClient, namespace: str) -> None:
    leader = elector(kube, namespace, "a")
    await leader.acquire()
    holding = asyncio.create_task(leader.hold())
    path = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/ops"
    await kube.merge_patch(path, {"spec": {"holderIdentity": "intruder"}})
    await asyncio.wait_for(holding, timeout=30)
    assert not leader.leading
    assert (await lease(kube, namespace))["holderIdentity"] == "intruder"  # the loser never writes back


async def test_of_racing_candidates_exactly_one_leads(kube: KubeClient, namespace: str) -> None:
    candidates = [elector(kube, namespace, f"c{index}") for index in range(6)]
    won = await asyncio.gather(*(candidate._try() for candidate in candidates))
    assert won.count(True) == 1
    assert (await lease(kube, namespace))["holderIdentity"] == candidates[won.index(True)].identity
