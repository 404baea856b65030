"""One element: properties, curation, classifications, relationships and provenance; 404 for unknown GUIDs."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from metaferry_runtime.repository import MetadataRepository
from tests.catalog.catalog_data import fill
from tests.catalog.conftest import FILES


async def test_an_element_shows_what_the_repository_records(
    repository: MetadataRepository,
    client: TestClient,
) -> None:
    data = fill(repository)
    response = await client.get(f"/api/v1/elements/{data.csv}")
    assert response.status == 200
    body = await response.json()
    assert body["qualified_name"] == "file:///lake/sales.csv"
    assert body["type_name"] == "DataFile"
    assert body["supertypes"][:2] == ["DataStore", "DataAsset"]
    assert body["harvested_properties"] == {"name": "sales.csv", "fileType": "csv"}
    assert body["curated_properties"] == {"description": "Daily sales"}
    assert body["properties"] == {"name": "sales.csv", "fileType": "csv", "description": "Daily sales"}
    assert body["curations"]["description"]["curator"] == "alice"
    assert body["classifications"] == [{"name": "Confidentiality", "properties": {"level": 3}}]
    assert body["zones"] == ["finance"]
    assert body["provenance"]["metadata_collection"] == FILES
    assert body["provenance"]["created_by_refresh"] == "refresh-1"
    assert body["provenance"]["last_refresh_id"] == "refresh-1"
    assert body["provenance"]["last_observed_time"] is not None
    [nested] = body["relationships"]["items"]
    assert (nested["type_name"], nested["end1_guid"], nested["end2_guid"]) == ("NestedFile", data.folder, data.csv)


async def test_provenance_names_the_refresh_that_last_changed_it(
    repository: MetadataRepository,
    client: TestClient,
) -> None:
    data = fill(repository)
    body = await (await client.get(f"/api/v1/elements/{data.notes}")).json()
    assert body["provenance"]["created_by_refresh"] == "refresh-1"
    assert body["provenance"]["last_refresh_id"] == "refresh-2"
    assert body["properties"]["description"] == "meeting notes"
    assert body["version"] == 2


async def test_an_archived_element_is_found_by_guid_and_says_so(
    repository: MetadataRepository,
    client: TestClient,
) -> None:
    data = fill(repository)
    body = await (await client.get(f"/api/v1/elements/{data.old}")).json()
    assert body["status"] == "ARCHIVED"
    assert body["relationships"]["items"] == []  # hidden with the element, as the repository hides them


async def test_relationships_page_with_cursors(repository: MetadataRepository, client: TestClient) -> None:
    data = fill(repository)
    url = f"/api/v1/elements/{data.folder}/relationships"
    first = await (await client.get(url, params={"limit": "2"})).json()
    assert len(first["items"]) == 2
    second = await (await client.get(url, params={"limit": "2", "cursor": first["next_cursor"]})).json()
    assert second["next_cursor"] is None
    ends = {r["end2_guid"] for r in first["items"] + second["items"]}
    assert ends == {data.csv, data.events_json, data.notes}  # the archived file's relationship is hidden
    typed = await client.get(url, params={"type": "NoSuchRelationship"})
    assert typed.status == 400
    assert "unknown relationship type" in (await typed.json())["detail"]


async def test_unknown_guids_get_404_and_unknown_paths_a_json_404(
    repository: MetadataRepository,
    client: TestClient,
) -> None:
    for path in ("", "/relationships", "/neighbourhood", "/lineage"):
        response = await client.get(f"/api/v1/elements/no-such-guid{path}")
        assert response.status == 404, path
        body = await response.json()
        assert body == {"status": 404, "title": "Not Found", "detail": "no element with GUID 'no-such-guid'"}
    missing = await client.get("/api/v1/nothing-here")
    assert missing.status == 404
    assert (await missing.json())["status"] == 404
    unknown = await client.get("/api/v1/elements/x", params={"depth": "2"})
    assert unknown.status == 400  # an element takes no parameters: refused, not ignored


async def test_types_list_element_relationship_and_classification_types(
    repository: MetadataRepository,
    client: TestClient,
) -> None:
    body = await (await client.get("/api/v1/types")).json()
    data_file = next(t for t in body["element_types"] if t["name"] == "DataFile")
    assert data_file["supertype"] == "DataStore"
    assert data_file["properties"]["fileType"] == {"kind": "string", "values": None}
    assert "qualifiedName" in data_file["properties"]  # inherited from Referenceable
    flow = next(t for t in body["relationship_types"] if t["name"] == "DataFlow")
    assert (flow["end1_name"], flow["end2_name"]) == ("dataSupplier", "dataConsumer")
    assert any(c["name"] == "Confidentiality" for c in body["classifications"])
