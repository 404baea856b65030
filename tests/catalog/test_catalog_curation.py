"""Curation through the catalogue: `PATCH /api/v1/elements/{guid}` by a token-file curator, against a real
repository on each backend, read back with GET; and a curation outliving the harvesting connector's next
refresh (the directory-monitor connector over a real directory)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestClient, TestServer

from metaferry_catalog.app import make_app
from metaferry_catalog.auth import Holder, StaticTokens
from metaferry_catalog.writes import MAX_BODY_BYTES
from metaferry_runtime.connectors.directory_monitor import DirectoryMonitorConnector
from metaferry_runtime.repository import MetadataRepository
from metaferry_runtime.testing import HarnessFactory
from tests.catalog.catalog_data import fill
from tests.catalog.conftest import TOKEN

STEWARD_TOKEN = "steward-token-0123456789"
NAMELESS_CURATOR_TOKEN = "curator-token-without-user"


@pytest.fixture
async def steward(repository: MetadataRepository, tmp_path: Path) -> AsyncIterator[TestClient]:
    """The catalogue over a token file of a reader (the old one-token line), a named and a nameless curator."""
    path = tmp_path / "tokens"
    path.write_text(f"# readers\n{TOKEN}\n{STEWARD_TOKEN} user=bob curator\n{NAMELESS_CURATOR_TOKEN} curator\n")
    server = TestServer(make_app(repository, tokens=StaticTokens.from_file(path)))
    client: TestClient = TestClient(server, headers={"Authorization": f"Bearer {STEWARD_TOKEN}"})
    await client.start_server()
    yield client
    await client.close()


async def test_a_curation_is_set_shown_with_its_curator_and_removed(
    repository: MetadataRepository, steward: TestClient
) -> None:
    notes = fill(repository).notes  # harvested description "meeting notes"
    response = await steward.patch(
        f"/api/v1/elements/{notes}", json={"properties": {"description": "Minutes of the board", "displayName": "M"}}
    )
    assert response.status == 200
    patched = await response.json()
    shown = await (await steward.get(f"/api/v1/elements/{notes}")).json()
    assert patched == shown
    assert shown["properties"]["description"] == "Minutes of the board"
    assert shown["harvested_properties"]["description"] == "meeting notes"
    assert shown["curated_properties"] == {"description": "Minutes of the board", "displayName": "M"}
    assert shown["curations"]["description"]["curator"] == "bob"
    assert shown["curations"]["description"]["time"]
    removed = await steward.patch(f"/api/v1/elements/{notes}", json={"properties": {"description": None}})
    assert removed.status == 200
    after = await removed.json()
    assert after["properties"]["description"] == "meeting notes"
    assert after["curated_properties"] == {"displayName": "M"}
    assert set(after["curations"]) == {"displayName"}


async def test_a_curator_line_without_a_user_is_recorded_by_a_name_that_is_no_part_of_the_token(
    repository: MetadataRepository, steward: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    csv = fill(repository).csv
    headers = {"Authorization": f"Bearer {NAMELESS_CURATOR_TOKEN}"}
    response = await steward.patch(
        f"/api/v1/elements/{csv}", json={"properties": {"description": "x"}}, headers=headers
    )
    assert response.status == 200
    curator = (await response.json())["curations"]["description"]["curator"]
    assert curator.startswith("token:")
    assert NAMELESS_CURATOR_TOKEN[:4] not in curator
    assert NAMELESS_CURATOR_TOKEN not in caplog.text


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"properties": {}}', "at least one property"),
        (b'{"properties": {"description": "x"}, "extra": 1}', "extra"),
        (b'{"properties": {"colour": "red"}}', "'colour'"),
        (b'{"properties": {"description": 42}}', "'description'"),
        (b'{"properties": {"qualifiedName": "file:///elsewhere"}}', "'qualifiedName'"),
    ],
)
async def test_a_bad_curation_is_a_400_naming_what_is_wrong_and_changes_nothing(
    repository: MetadataRepository, steward: TestClient, body: bytes, named: str
) -> None:
    notes = fill(repository).notes
    before = await (await steward.get(f"/api/v1/elements/{notes}")).json()
    response = await steward.patch(f"/api/v1/elements/{notes}", data=body, headers={"Content-Type": "application/json"})
    assert response.status == 400
    assert named in (await response.json())["detail"]
    assert await (await steward.get(f"/api/v1/elements/{notes}")).json() == before


async def test_curation_refuses_strangers_readers_unknown_guids_and_large_bodies(
    repository: MetadataRepository, steward: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    notes = fill(repository).notes
    path = f"/api/v1/elements/{notes}"
    curation = {"properties": {"description": "x"}}
    async with ClientSession() as anonymous:
        response = await anonymous.patch(steward.make_url(path), json=curation)
        assert response.status == 401
    reader = await steward.patch(path, json=curation, headers={"Authorization": f"Bearer {TOKEN}"})
    assert reader.status == 403
    assert "curate" in (await reader.json())["detail"]
    assert (await steward.get(path, headers={"Authorization": f"Bearer {TOKEN}"})).status == 200  # it still reads
    unknown = await steward.patch("/api/v1/elements/no-such-guid", json=curation)
    assert unknown.status == 404
    large = {"properties": {"description": "x" * MAX_BODY_BYTES}}
    assert (await steward.patch(path, json=large)).status == 413
    shown = await (await steward.get(path)).json()
    assert shown["curated_properties"] == {}
    for token in (TOKEN, STEWARD_TOKEN):
        assert token not in caplog.text


async def test_without_auth_nobody_can_be_the_curator(repository: MetadataRepository) -> None:
    notes = fill(repository).notes
    client = TestClient(TestServer(make_app(repository, tokens=None)))
    await client.start_server()
    try:
        response = await client.patch(f"/api/v1/elements/{notes}", json={"properties": {"description": "x"}})
        assert response.status == 403
        assert "authenticated" in (await response.json())["detail"]
    finally:
        await client.close()


async def test_a_curated_description_survives_the_next_refresh_of_the_connector_that_harvested_it(
    connector_harness: HarnessFactory, repository_url: str, tmp_path: Path
) -> None:
    root = tmp_path / "lake"
    root.mkdir()
    (root / "orders.csv").write_text("id,total\n1,10\n")
    monitor = connector_harness(DirectoryMonitorConnector, endpoint=root, repository_url=repository_url)
    monitor.refresh()
    orders = monitor.context.get_file_by_path_name(root / "orders.csv")
    assert orders is not None
    tokens = StaticTokens([Holder(STEWARD_TOKEN, "bob", curator=True)])
    client = TestClient(TestServer(make_app(monitor.repository, tokens=tokens)))
    await client.start_server()
    path = f"/api/v1/elements/{orders.guid}"
    headers = {"Authorization": f"Bearer {STEWARD_TOKEN}"}
    try:
        curated = await client.patch(path, json={"properties": {"description": "Orders, one a line"}}, headers=headers)
        assert curated.status == 200
        (root / "orders.csv").write_text("id,total\n1,10\n2,20\n")  # the next harvest changes the file
        counts = monitor.refresh()
        assert counts.updated >= 1
        shown = await (await client.get(path, headers=headers)).json()
    finally:
        await client.close()
    assert shown["harvested_properties"]["size"] == len("id,total\n1,10\n2,20\n")
    assert shown["properties"]["description"] == "Orders, one a line"
    assert shown["curations"]["description"]["curator"] == "bob"
