"""The per-connector task: how watch events turn into passes (fake API client, loop time by looptime)."""

from __future__ import annotations

import asyncio
import copy
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


@pytest.mark.looptime
async def test_a_burst_of_events_makes_one_pass_after_it_settles_and_the_poll_interval_still_polls() -> None:
    body = connector_body()
    fake = FakeKube(body)
    config = OperatorConfig(status_poll_interval=30)
    deps = Dependencies(
        config=config, kube=cast(kube.KubeClient, fake), runtime=RuntimeClient(httpx.AsyncClient()), cache=WorldCache()
    )
    supervisor = Supervisor(deps)
    passes: list[float] = []
    loop = asyncio.get_running_loop()

    supervisor.observe_connector(body, deleted=False)
    worker = supervisor._workers[("data", "files")]
    reconcile = worker.reconciler.reconcile

    async def counted() -> None:
        passes.append(loop.time())
        await reconcile()

    worker.reconciler.reconcile = counted  # type: ignore[method-assign]
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
