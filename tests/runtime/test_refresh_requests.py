"""How a refresh request ended, told by `GET /refresh-requests/{id}`: held with `?wait` until the refresh
ends, failed with its masked error, superseded when a restart drops the refresh it joined."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from aiohttp.test_utils import TestClient, TestServer

from metaferry_runtime.api import RuntimeApi
from metaferry_runtime.lifecycle import ConnectorRuntime
from metaferry_runtime.repository import MetadataRepository
from tests.runtime import sample_connectors as samples
from tests.runtime.conftest import make_resource
from tests.waiting import wait_for_async

TOKEN = "s3cret-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PASSWORD = "pa55word-never-shown"


async def _serve(runtime: ConnectorRuntime) -> TestClient:
    client = TestClient(TestServer(RuntimeApi(runtime, token=TOKEN).app))
    await client.start_server()
    return client


@pytest.fixture
async def gated(repository: MetadataRepository) -> AsyncIterator[tuple[ConnectorRuntime, TestClient]]:
    """A runtime whose refreshes wait for the test to open `GatedConnector.gate`; its start refresh is running."""
    samples.GatedConnector.reset()
    runtime = ConnectorRuntime(resource=make_resource("GatedConnector"), repository=repository)
    await runtime.start()
    assert await asyncio.to_thread(samples.GatedConnector.entered.acquire, True, 10)
    client = await _serve(runtime)
    yield runtime, client
    samples.GatedConnector.gate.set()
    await client.close()
    await runtime.shutdown()


async def _request(client: TestClient, request_id: str) -> str:
    accepted = await client.post("/refresh", headers=AUTH, json={"requestId": request_id})
    assert accepted.status == 202
    refresh_id: str = (await accepted.json())["refreshId"]
    return refresh_id


async def test_a_request_is_queued_then_its_wait_returns_when_its_refresh_succeeds(
    gated: tuple[ConnectorRuntime, TestClient],
) -> None:
    runtime, client = gated
    refresh_id = await _request(client, "t1")
    queued = await (await client.get("/refresh-requests/t1")).json()
    assert (queued["state"], queued["refreshId"], queued["requestId"]) == ("queued", refresh_id, "t1")
    assert "finishedAt" not in queued and "statistics" not in queued

    waiting = asyncio.ensure_future(client.get("/refresh-requests/t1?wait=20"))
    await asyncio.sleep(0.2)
    assert not waiting.done(), "wait holds the answer while the refresh has not ended"
    samples.GatedConnector.gate.set()  # the start refresh ends, then t1's refresh runs through the open gate
    response = await asyncio.wait_for(waiting, 15)
    outcome = await response.json()
    assert response.status == 200
    assert (outcome["state"], outcome["refreshId"]) == ("succeeded", refresh_id)
    assert datetime.fromisoformat(outcome["startedAt"]) <= datetime.fromisoformat(outcome["finishedAt"])
    assert outcome["statistics"]["created"] == 0 and "error" not in outcome
    assert runtime.refresh_count == 2
    again = await (await client.get("/refresh-requests/t1")).json()
    assert again == outcome, "a final outcome stays as it was"


async def test_requests_that_coalesce_share_their_refresh_and_its_outcome(
    gated: tuple[ConnectorRuntime, TestClient],
) -> None:
    _, client = gated
    first, second = await _request(client, "a"), await _request(client, "b")
    assert first == second
    samples.GatedConnector.gate.set()
    outcomes = [await (await client.get(f"/refresh-requests/{name}?wait=15")).json() for name in ("a", "b")]
    assert [o["state"] for o in outcomes] == ["succeeded", "succeeded"]
    assert outcomes[0]["finishedAt"] == outcomes[1]["finishedAt"]


async def test_a_failed_refresh_fails_its_request_with_the_masked_error(repository: MetadataRepository) -> None:
    samples.FailOnDemandConnector.fail = False
    resource = make_resource("FailOnDemandConnector", connection={"secretRef": {"name": "db"}})
    runtime = ConnectorRuntime(resource=resource, repository=repository, secured_properties={"password": PASSWORD})
    await runtime.start()
    await wait_for_async(lambda: runtime.refresh_count == 1)
    client = await _serve(runtime)
    try:
        samples.FailOnDemandConnector.fail = True
        await _request(client, "will-fail")
        outcome = await (await client.get("/refresh-requests/will-fail?wait=30")).json()
        assert outcome["state"] == "failed"
        assert "failing on purpose" in outcome["error"] and PASSWORD not in str(outcome)
        assert outcome["finishedAt"]
    finally:
        samples.FailOnDemandConnector.fail = False
        await client.close()
        await runtime.shutdown()


async def test_a_restart_supersedes_the_request_whose_refresh_it_dropped(
    gated: tuple[ConnectorRuntime, TestClient],
) -> None:
    runtime, client = gated
    await _request(client, "dropped")
    waiting = asyncio.ensure_future(client.get("/refresh-requests/dropped?wait=20"))
    await asyncio.sleep(0.1)
    assert (await client.post("/restart", headers=AUTH)).status == 202  # abandons the running start refresh
    outcome = await (await asyncio.wait_for(waiting, 15)).json()
    assert outcome["state"] == "superseded"
    assert "restart" in outcome["error"]
    await wait_for_async(lambda: runtime.restart_count == 1)


async def test_unknown_requests_and_bad_waits_are_told_apart(gated: tuple[ConnectorRuntime, TestClient]) -> None:
    _, client = gated
    unknown = await client.get("/refresh-requests/never-made")
    assert unknown.status == 404 and unknown.content_type == "application/problem+json"
    for wait in ("soon", "-1", "61"):
        bad = await client.get(f"/refresh-requests/never-made?wait={wait}")
        assert bad.status == 400, wait
    await _request(client, "2030-01-01T00:00:00Z/with a slash")
    odd = await client.get("/refresh-requests/2030-01-01T00:00:00Z%2Fwith%20a%20slash")
    assert odd.status == 200 and (await odd.json())["requestId"] == "2030-01-01T00:00:00Z/with a slash"
