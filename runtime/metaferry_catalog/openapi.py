"""`/openapi.json`, generated from the routes and their pydantic models (never written by hand)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from metaferry_catalog import __version__
from metaferry_catalog.models import Problem

REF = "#/components/schemas/{model}"


@dataclass(frozen=True)
class Endpoint:
    """What the document says of one route; the server registers the same objects."""

    path: str
    summary: str
    response: type[BaseModel]
    params: type[BaseModel] | None = None
    method: str = "get"
    body: type[BaseModel] | None = None  # the JSON request body
    media_type: str = "application/json"
    errors: tuple[int, ...] = (400, 401)
    public: bool = False  # served without a token
    headers: dict[str, str] = field(default_factory=dict)  # request header -> description


def _parameters(endpoint: Endpoint) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _path_names(endpoint.path)
    ]
    if endpoint.params is not None:
        schema = endpoint.params.model_json_schema()
        for name, prop in schema.get("properties", {}).items():
            description = prop.pop("description", None)
            prop.pop("title", None)
            entry = {"name": name, "in": "query", "required": name in schema.get("required", []), "schema": prop}
            if description:
                entry["description"] = description
            out.append(entry)
    out.extend(
        {"name": name, "in": "header", "required": False, "schema": {"type": "string"}, "description": text}
        for name, text in endpoint.headers.items()
    )
    return out


def _path_names(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]


def document(endpoints: list[Endpoint], *, title: str = "metaferry catalogue") -> dict[str, Any]:
    responses_ = {e.response for e in endpoints} | {Problem}
    bodies = {e.body for e in endpoints if e.body is not None}
    chosen: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        (m, "serialization") for m in sorted(responses_, key=lambda m: m.__name__)
    ]
    chosen += [(m, "validation") for m in sorted(bodies, key=lambda m: m.__name__)]
    _, schemas = models_json_schema(chosen, ref_template=REF)
    paths: dict[str, Any] = {}
    for e in endpoints:
        responses: dict[str, Any] = {
            "200": {
                "description": "OK",
                "content": {e.media_type: {"schema": {"$ref": REF.format(model=e.response.__name__)}}},
            }
        }
        statuses = set(e.errors) - {401} if e.public else set(e.errors) | {401, 403}
        for status in sorted(statuses):
            responses[str(status)] = {
                "description": {
                    400: "bad parameters",
                    401: "no or wrong bearer token",
                    403: "the token's user may not read the catalogue"
                    if e.method == "get"
                    else "the token's user may not curate the catalogue",
                    404: "unknown GUID",
                    413: "the request body is too large",
                }[status],
                "content": {"application/json": {"schema": {"$ref": REF.format(model="Problem")}}},
            }
        operation: dict[str, Any] = {"summary": e.summary, "parameters": _parameters(e), "responses": responses}
        if e.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": REF.format(model=e.body.__name__)}}},
            }
        if e.public:
            operation["security"] = []
        paths.setdefault(e.path, {})[e.method] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": __version__},
        "paths": paths,
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }
