"""Search: every filter, against a real repository through the real HTTP server; cursors; bad parameters."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from metaferry_runtime.repository import MetadataRepository
from tests.catalog.catalog_data import fill
from tests.catalog.conftest import DATABASE, FILES


async def names(client: TestClient, **query: Any) -> list[str]:  # type: ignore[type-arg]
    response = await client.get("/api/v1/elements", params={k: str(v) for k, v in query.items()})
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["next_cursor"] is None
    return [item["qualified_name"] for item in body["items"]]


async def test_each_filter_narrows_the_search(repository: MetadataRepository, client: TestClient) -> None:  # type: ignore[type-arg]
    fill(repository)
    assert await names(client) == [
        "db.public.sales",
        "file:///lake",
        "file:///lake/events.json",
        "file:///lake/notes.txt",
        "file:///lake/sales.csv",
    ]
    assert await names(client, text="SALES") == ["db.public.sales", "file:///lake/sales.csv"]
    assert await names(client, text="meeting") == ["file:///lake/notes.txt"]  # the description is searched
    assert await names(client, type="DataFile") == [
        "file:///lake/events.json",  # a JSONFile: a subtype of DataFile
        "file:///lake/notes.txt",
        "file:///lake/sales.csv",
    ]
    assert await names(client, type="DataFile", subtypes="false") == [
        "file:///lake/notes.txt",
        "file:///lake/sales.csv",
    ]
    assert await names(client, collection=DATABASE) == ["db.public.sales"]
    assert len(await names(client, collection=FILES)) == 4
    assert await names(client, zone="finance") == ["file:///lake/sales.csv"]
    assert await names(client, classification="Confidentiality") == ["file:///lake/sales.csv"]
    assert await names(client, classification="Confidentiality", zone="public") == []
    assert "file:///lake/old.csv" in await names(client, archived="true", type="DataFile")


async def test_a_summary_shows_name_status_zones_and_classifications(
    repository: MetadataRepository,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    fill(repository)
    body = await (await client.get("/api/v1/elements", params={"text": "lake/", "archived": "true"})).json()
    by_name = {item["qualified_name"]: item for item in body["items"]}
    assert by_name["file:///lake/events.json"]["display_name"] == "Events feed"
    assert by_name["file:///lake/sales.csv"]["classifications"] == ["Confidentiality"]
    assert by_name["file:///lake/sales.csv"]["zones"] == ["finance"]
    assert by_name["file:///lake/old.csv"]["status"] == "ARCHIVED"
    assert by_name["file:///lake/notes.txt"]["metadata_collection"] == FILES


async def test_cursors_walk_every_element_once(repository: MetadataRepository, client: TestClient) -> None:  # type: ignore[type-arg]
    with repository.transaction(actor=FILES) as tx:
        tx.upsert_elements(("DataFile", f"file:///many/{i:03}", {"name": f"f{i}"}) for i in range(23))
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"type": "DataFile", "limit": "5", **({"cursor": cursor} if cursor else {})}
        body = await (await client.get("/api/v1/elements", params=params)).json()
        seen.extend(item["qualified_name"] for item in body["items"])
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"file:///many/{i:03}" for i in range(23)]
    assert pages == 5


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"archived": "perhaps"}, "archived"),
        ({"tpye": "DataFile"}, "tpye: unknown parameter"),
        ({"type": "NoSuchType"}, "unknown element type 'NoSuchType'"),
        ({"classification": "Secretish"}, "unknown classification 'Secretish'"),
        ({"cursor": "not-a-cursor!"}, "cursor: not a cursor this catalogue issued"),
    ],
)
async def test_bad_parameters_get_a_clear_400(
    repository: MetadataRepository,
    client: TestClient,  # type: ignore[type-arg]
    query: dict[str, str],
    detail: str,
) -> None:
    response = await client.get("/api/v1/elements", params=query)
    assert response.status == 400
    body = await response.json()
    assert body["status"] == 400
    assert detail in body["detail"]


async def test_a_repeated_parameter_and_a_foreign_cursor_are_refused(
    repository: MetadataRepository,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    with repository.transaction(actor=FILES) as tx:
        tx.upsert_elements(("DataFile", f"file:///x/{i}", {}) for i in range(3))
    first = await (await client.get("/api/v1/elements", params={"type": "DataFile", "limit": "1"})).json()
    cursor = first["next_cursor"]
    assert cursor is not None
    other = await client.get("/api/v1/elements", params={"type": "FileFolder", "limit": "1", "cursor": cursor})
    assert other.status == 400
    assert "different query" in (await other.json())["detail"]
    repeated = await client.get("/api/v1/elements?zone=a&zone=b")
    assert repeated.status == 400
    assert "zone" in (await repeated.json())["detail"]
