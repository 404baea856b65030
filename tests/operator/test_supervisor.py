"""The per-connector task: how watch events turn into passes (fake API client, loop time by looptime)."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from typing import cast

import httpx
import pytest

from metaferry_operator import kube
from metaferry_operator.cache import WorldCache
from metaferry_operator.config import OperatorConfig
from metaferry_operator.reconciler import Dependencies
from metaferry_operator.runtime_client import RuntimeClient
from metaferry_operator.supervisor import SETTLE_SECONDS, Supervisor
from tests.operator.builders import connector_body
from tests.operator.test_reconciler import FakeKube


def _deps(fake: FakeKube, runtime_client: Callable[[], RuntimeClient] | None = None) -> Dependencies:
    return Dependencies(
        config=OperatorConfig(status_poll_interval=30),
        kube=cast(kube.KubeClient, fake),
        runtime_client=runtime_client or (lambda: RuntimeClient(httpx.AsyncClient())),
        cache=WorldCache(),
    )


def _count_passes(supervisor: Supervisor, key: tuple[str, str] = ("data", "files")) -> list[float]:
    """The loop time of each pass the connector's task makes from now on (its first pass included)."""
    passes: list[float] = []
    loop = asyncio.get_running_loop()
    reconciler = supervisor._workers[key].reconciler
    reconcile = reconciler.reconcile

    async def counted() -> None:
        passes.append(loop.time())
        await reconcile()

    reconciler.reconcile = counted  # type: ignore[method-assign]
    return passes


@pytest.mark.looptime
async def test_a_burst_of_events_makes_one_pass_after_it_settles_and_the_poll_interval_still_polls() -> None:
    body = connector_body()
    supervisor = Supervisor(_deps(FakeKube(body)))
    loop = asyncio.get_running_loop()

    supervisor.observe_connector(body, deleted=False)
    passes = _count_passes(supervisor)
    start = loop.time()
    await asyncio.sleep(1)  # the first pass runs at once
    assert passes == [start]
    for index in range(5):  # five events, 10 ms apart
        event = copy.deepcopy(body)
        event["metadata"]["resourceVersion"] = str(20 + index)
        supervisor.observe_connector(event, deleted=False)
        await asyncio.sleep(0.01)
    await asyncio.sleep(1)
    assert len(passes) == 2  # one pass for the five
    assert SETTLE_SECONDS <= passes[1] - (start + 1) <= SETTLE_SECONDS + 0.05
    await asyncio.sleep(30)  # the poll interval, without any event
    assert len(passes) == 3
    await supervisor.close()


@pytest.mark.looptime
async def test_the_echo_of_our_own_status_write_wakes_no_pass_and_the_next_change_does() -> None:
    body = connector_body()
    fake = FakeKube(body)
    supervisor = Supervisor(_deps(fake))
    supervisor.observe_connector(body, deleted=False)
    passes = _count_passes(supervisor)
    await asyncio.sleep(1)
    assert len(passes) == 1 and len(fake.status_patches) == 1  # the first pass wrote status
    supervisor.observe_connector(copy.deepcopy(fake.connector), deleted=False)  # the watch echoes that write
    await asyncio.sleep(1)
    assert len(passes) == 1
    edited = copy.deepcopy(fake.connector)
    edited["metadata"]["resourceVersion"] = str(fake.version + 1)  # someone else's change after ours
    supervisor.observe_connector(edited, deleted=False)
    await asyncio.sleep(1)
    assert len(passes) == 2
    await supervisor.close()


@pytest.mark.looptime
async def test_each_connector_has_a_runtime_client_of_its_own_closed_when_its_task_ends() -> None:
    clients: list[RuntimeClient] = []

    def new_client() -> RuntimeClient:
        clients.append(RuntimeClient(httpx.AsyncClient()))
        return clients[-1]

    first, second = connector_body("first"), connector_body("second")
    supervisor = Supervisor(_deps(FakeKube(first), new_client))
    supervisor.observe_connector(first, deleted=False)
    supervisor.observe_connector(second, deleted=False)
    await asyncio.sleep(1)
    assert len(clients) == 2
    assert not any(client._http.is_closed for client in clients)
    supervisor.observe_connector(first, deleted=True)
    await asyncio.sleep(0.1)
    assert [client._http.is_closed for client in clients] == [True, False]
    await supervisor.close()
    assert clients[1]._http.is_closed
