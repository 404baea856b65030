"""`/openapi.json` is generated from the routes and models: every route is in it, every reference resolves."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from metaferry_catalog.app import ENDPOINTS
from metaferry_catalog.models import ElementDetail
from metaferry_runtime.repository import MetadataRepository


def refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(refs(v) for v in node))
    return set()


async def test_the_document_describes_every_route_from_its_models(
    repository: MetadataRepository,
    client: TestClient,
) -> None:
    document = await (await client.get("/openapi.json")).json()
    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) == {e.path for e in ENDPOINTS.values()}
    schemas = document["components"]["schemas"]
    for ref in refs(document):
        assert ref.startswith("#/components/schemas/")
        assert ref.removeprefix("#/components/schemas/") in schemas, ref
    assert set(schemas["ElementDetail"]["properties"]) == set(ElementDetail.model_fields)
    search = document["paths"]["/api/v1/elements"]["get"]
    parameters = {p["name"]: p for p in search["parameters"]}
    assert {"text", "type", "subtypes", "collection", "zone", "classification", "archived", "limit", "cursor"} <= set(
        parameters
    )
    assert parameters["limit"]["schema"]["maximum"] == 500
    assert set(search["responses"]) == {"200", "400", "401", "403"}
    element = document["paths"]["/api/v1/elements/{guid}"]["get"]
    assert "404" in element["responses"]
    assert element["parameters"][0] == {"name": "guid", "in": "path", "required": True, "schema": {"type": "string"}}
    assert "text/event-stream" in document["paths"]["/api/v1/events"]["get"]["responses"]["200"]["content"]
    assert document["paths"]["/healthz"]["get"]["security"] == []


async def test_the_document_describes_the_curation_patch_and_its_body(
    repository: MetadataRepository,
    client: TestClient,
) -> None:
    document = await (await client.get("/openapi.json")).json()
    operations = document["paths"]["/api/v1/elements/{guid}"]
    assert set(operations) == {"get", "patch"}
    patch = operations["patch"]
    body = patch["requestBody"]
    assert body["required"] is True
    assert body["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/CurationRequest"}
    schema = document["components"]["schemas"]["CurationRequest"]
    assert schema["required"] == ["properties"] and schema["additionalProperties"] is False
    assert schema["properties"]["properties"]["minProperties"] == 1
    assert set(patch["responses"]) == {"200", "400", "401", "403", "404", "413"}
    assert patch["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ElementDetail"
    }
    assert "curate" in patch["responses"]["403"]["description"]
