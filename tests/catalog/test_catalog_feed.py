"""The change feed: committed events as Server-Sent Events, each id its sequence, resumable by Last-Event-ID."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from metaferry_runtime.repository import MetadataRepository
from tests.catalog.conftest import FILES

#: Bounds a hang if an event never comes; not a speed assertion.
WAIT = 30.0


async def next_event(response: ClientResponse) -> dict[str, Any]:
    """The next event's fields (comments skipped), with `data` parsed."""
    fields: dict[str, Any] = {}
    while True:
        line = (await asyncio.wait_for(response.content.readline(), WAIT)).decode().rstrip("\n")
        if line.startswith(":"):
            continue
        if not line:
            if fields:
                fields["data"] = json.loads(fields["data"])
                return fields
            continue
        key, _, value = line.partition(": ")
        fields[key] = value


def write(repository: MetadataRepository, *names: str) -> None:
    with repository.transaction(actor=FILES, refresh_id="feed-refresh") as tx:
        for name in names:
            tx.create_element("DataFile", f"file:///feed/{name}", {"name": name})


async def test_events_committed_after_connecting_arrive_in_order(
    repository: MetadataRepository,
    client: TestClient,
) -> None:
    write(repository, "before")  # before connecting: not sent without a resume position
    async with client.get("/api/v1/events") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        await asyncio.to_thread(write, repository, "one", "two")
        first, second = await next_event(response), await next_event(response)
    assert [first["event"], second["event"]] == ["ELEMENT_CREATED", "ELEMENT_CREATED"]
    assert [first["data"]["element"]["qualified_name"], second["data"]["element"]["qualified_name"]] == [
        "file:///feed/one",
        "file:///feed/two",
    ]
    assert int(second["id"]) == int(first["id"]) + 1 == first["data"]["sequence"] + 1
    assert first["data"]["refresh_id"] == "feed-refresh"
    assert first["data"]["metadata_collection"] == FILES


async def test_last_event_id_resumes_after_it_and_after_replays_from_a_sequence(
    repository: MetadataRepository,
    client: TestClient,
) -> None:
    write(repository, "a", "b", "c")
    async with client.get("/api/v1/events", params={"after": "0"}) as response:
        replayed = [await next_event(response) for _ in range(3)]
    assert [e["data"]["element"]["properties"]["name"] for e in replayed] == ["a", "b", "c"]
    async with client.get("/api/v1/events", headers={"Last-Event-ID": replayed[0]["id"]}) as response:
        resumed = await next_event(response)
        assert resumed["id"] == replayed[1]["id"]  # nothing seen twice, nothing missed
        assert (await next_event(response))["id"] == replayed[2]["id"]
        await asyncio.to_thread(write, repository, "d")
        assert (await next_event(response))["data"]["element"]["properties"]["name"] == "d"


async def test_a_bad_resume_position_is_a_400(repository: MetadataRepository, client: TestClient) -> None:
    bad_id = await client.get("/api/v1/events", headers={"Last-Event-ID": "yesterday"})
    assert bad_id.status == 400
    assert "Last-Event-ID" in (await bad_id.json())["detail"]
    bad_after = await client.get("/api/v1/events", params={"after": "-1"})
    assert bad_after.status == 400
