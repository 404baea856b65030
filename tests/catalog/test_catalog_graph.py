"""Lineage through DataFlow and LineageMapping, and the neighbourhood, each to a depth."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from metaferry_runtime.repository import MetadataRepository
from tests.catalog.conftest import FILES


def chain(repository: MetadataRepository) -> dict[str, str]:
    """raw -(DataFlow)-> clean -(DataFlow)-> report -(LineageMapping)-> dashboard; a side input feeds
    clean; `unrelated` is joined to clean by a relationship that is not lineage."""
    with repository.transaction(actor=FILES) as tx:
        guids = {
            name: tx.create_element(
                "Process" if name == "clean" else "DataFile", f"lineage:{name}", {"name": name}
            ).guid
            for name in ("raw", "side", "clean", "report", "dashboard", "unrelated")
        }
        tx.create_relationship("DataFlow", guids["raw"], guids["clean"])
        tx.create_relationship("DataFlow", guids["side"], guids["clean"])
        tx.create_relationship("DataFlow", guids["clean"], guids["report"])
        tx.create_relationship("LineageMapping", guids["report"], guids["dashboard"])
        tx.create_relationship("ControlFlow", guids["clean"], guids["unrelated"])
    return guids


async def reached(client: TestClient, guid: str, view: str, **query: str) -> set[str]:
    response = await client.get(f"/api/v1/elements/{guid}/{view}", params=query)
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["truncated"] is False
    names = {node["guid"]: node["qualified_name"].removeprefix("lineage:") for node in body["nodes"]}
    for edge in body["edges"]:
        assert edge["end1_guid"] in names
        assert edge["end2_guid"] in names
    return set(names.values())


async def test_lineage_follows_flows_each_way_to_the_depth(repository: MetadataRepository, client: TestClient) -> None:
    g = chain(repository)
    assert await reached(client, g["raw"], "lineage", direction="downstream", depth="1") == {"raw", "clean"}
    assert await reached(client, g["raw"], "lineage", direction="downstream", depth="2") == {"raw", "clean", "report"}
    assert await reached(client, g["raw"], "lineage", direction="downstream", depth="5") == {
        "raw",
        "clean",
        "report",
        "dashboard",  # through LineageMapping
    }
    assert await reached(client, g["dashboard"], "lineage", direction="upstream", depth="2") == {
        "dashboard",
        "report",
        "clean",
    }
    assert await reached(client, g["dashboard"], "lineage", direction="upstream", depth="3") == {
        "dashboard",
        "report",
        "clean",
        "raw",
        "side",
    }
    assert await reached(client, g["clean"], "lineage", direction="upstream") == {"clean", "raw", "side"}


async def test_the_neighbourhood_follows_every_relationship(repository: MetadataRepository, client: TestClient) -> None:
    g = chain(repository)
    assert await reached(client, g["clean"], "neighbourhood") == {"clean", "raw", "side", "report", "unrelated"}
    assert await reached(client, g["raw"], "neighbourhood", depth="2") == {
        "raw",
        "clean",
        "side",
        "report",
        "unrelated",
    }
    assert await reached(client, g["clean"], "neighbourhood", type="DataFlow") == {"clean", "raw", "side", "report"}


async def test_graph_parameters_are_checked(repository: MetadataRepository, client: TestClient) -> None:
    g = chain(repository)
    for view, query in [
        ("lineage", {"direction": "sideways"}),
        ("lineage", {"depth": "6"}),
        ("neighbourhood", {"depth": "0"}),
        ("neighbourhood", {"type": "NoSuchType"}),
    ]:
        response = await client.get(f"/api/v1/elements/{g['raw']}/{view}", params=query)
        assert response.status == 400, (view, query)
        assert (await response.json())["detail"]
