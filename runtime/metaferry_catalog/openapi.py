"""`/openapi.json`, generated from the routes and their pydantic models (never written by hand)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

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
    models = {e.response for e in endpoints} | {Problem}
    _, schemas = models_json_schema(
        [(m, "serialization") for m in sorted(models, key=lambda m: m.__name__)], ref_template=REF
    )
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
                    403: "the token's user may not read the catalogue",
                    404: "unknown GUID",
                }[status],
                "content": {"application/json": {"schema": {"$ref": REF.format(model="Problem")}}},
            }
        operation: dict[str, Any] = {"summary": e.summary, "parameters": _parameters(e), "responses": responses}
        if e.public:
            operation["security"] = []
        paths[e.path] = {"get": operation}
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
