"""Reading an OpenAPI 3.0/3.1 or Swagger 2.0 document into an `APIDefinition`.

`$ref`s, local and relative external ones, are resolved by jsonschema-path (over `referencing`) as each
part is opened, never by hand: the document is walked once, only what is catalogued is dereferenced, and
a circular schema costs nothing because only the top level of a body schema's properties is read. A part
that cannot be read (a `$ref` that does not resolve, a value of the wrong shape) is left out and recorded
as a problem, so a broken document is catalogued as far as it can be.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urljoin

from jsonschema_path import SchemaPath
from jsonschema_path.typing import ResolverHandlers

from metaferry_runtime.connectors.openapi_monitor.model import (
    HTTP_VERBS,
    APIDefinition,
    ListRole,
    OperationDefinition,
    ParameterDefinition,
    TagDefinition,
)

#: The longest example kept on a parameter.
EXAMPLE_LENGTH = 200
#: Media types preferred for a body's schema, before the first one listed.
JSON_TYPES = ("application/json", "application/merge-patch+json", "*/*")


class Reading:
    """The definition read from one document, and the problems met on the way."""

    def __init__(self, definition: APIDefinition, problems: list[str]) -> None:
        self.definition = definition
        self.problems = problems


def specification_of(document: Mapping[str, Any]) -> str | None:
    """ "OpenAPI 3.1.0" / "Swagger 2.0", or None when the mapping is not an OpenAPI document."""
    if isinstance(document.get("openapi"), str):
        return f"OpenAPI {document['openapi']}"
    if str(document.get("swagger", "")).startswith("2"):
        return "Swagger 2.0"
    return None


def read_document(
    document: Mapping[str, Any], *, url: str, handlers: ResolverHandlers, group: str | None = None
) -> Reading:
    """The document fetched from `url` (the base of its relative `$ref`s and server URLs)."""
    problems: list[str] = []
    root = SchemaPath.from_dict(dict(document), base_uri=url, handlers=handlers)
    specification = specification_of(document) or "OpenAPI (unknown version)"
    swagger = specification.startswith("Swagger")
    info = _mapping(document.get("info"))
    operations: list[OperationDefinition] = []
    if "paths" in root:
        for path in _keys(root / "paths"):
            if path.startswith("x-"):
                continue
            try:
                operations.extend(_operations(root / "paths" / path, path, swagger=swagger, problems=problems))
            except Exception as error:  # a broken path item is left out and reported
                problems.append(f"{path}: {_reason(error)}")
    tags = tuple(
        TagDefinition(name=str(tag["name"]), description=_text(tag.get("description")))
        for tag in _list(document.get("tags"))
        if isinstance(tag, Mapping) and tag.get("name")
    )
    definition = APIDefinition(
        title=_text(info.get("title")) or "untitled API",
        version=_text(info.get("version")) or "unversioned",
        group=group,
        specification=specification,
        description=_text(info.get("description")),
        servers=_servers(document, url, swagger=swagger),
        tags=tags,
        operations=tuple(operations),
    )
    return Reading(definition, problems)


def _operations(item: SchemaPath, path: str, *, swagger: bool, problems: list[str]) -> Iterator[OperationDefinition]:
    shared = _parameter_paths(item)
    for verb in HTTP_VERBS:
        if verb not in item:
            continue
        operation = item / verb
        try:
            yield _operation(operation, path, verb, shared=shared, swagger=swagger)
        except Exception as error:  # a broken operation is left out and reported
            problems.append(f"{verb.upper()} {path}: {_reason(error)}")


def _operation(
    operation: SchemaPath, path: str, verb: str, *, shared: list[SchemaPath], swagger: bool
) -> OperationDefinition:
    with operation.open() as raw:
        if not isinstance(raw, Mapping):
            raise ValueError(f"an operation is an object, not {type(raw).__name__}")
        fields = raw
    lists: dict[ListRole, dict[tuple[str, str], ParameterDefinition]] = {"header": {}, "request": {}, "response": {}}
    for parameter_path in [*shared, *_parameter_paths(operation)]:  # the operation's override the path item's
        for parameter in _parameters(parameter_path, swagger=swagger):
            role: ListRole = "header" if parameter.location == "header" else "request"
            lists[role][(parameter.location, parameter.name)] = parameter
    if not swagger and "requestBody" in operation:
        body = operation / "requestBody"
        with body.open() as raw_body:
            body_required = bool(_mapping(raw_body).get("required"))
        for parameter in _content_properties(body, required=body_required):
            lists["request"][(parameter.location, parameter.name)] = parameter
    for parameter in _response_parameters(operation, swagger=swagger):
        lists["response"][(parameter.location, parameter.name)] = parameter
    return OperationDefinition(
        path=path,
        verb=verb,
        operation_id=_text(fields.get("operationId")),
        summary=_text(fields.get("summary")),
        description=_text(fields.get("description")),
        tags=tuple(str(tag) for tag in _list(fields.get("tags"))),
        deprecated=fields.get("deprecated") is True,
        parameters={role: tuple(found.values()) for role, found in lists.items()},
    )


def _parameter_paths(node: SchemaPath) -> list[SchemaPath]:
    if "parameters" not in node:
        return []
    return list(node / "parameters")


def _parameters(node: SchemaPath, *, swagger: bool) -> list[ParameterDefinition]:
    with node.open() as raw:
        fields = _mapping(raw)
    location, name = str(fields.get("in", "")), str(fields.get("name", ""))
    if swagger and location == "body":
        return (
            list(_schema_properties(node / "schema", required=bool(fields.get("required")))) if "schema" in node else []
        )
    if not name or not location:
        raise ValueError("a parameter needs a name and an in")
    schema: Mapping[str, Any] = fields
    if not swagger and "schema" in node:
        with (node / "schema").open() as raw_schema:
            schema = _mapping(raw_schema)
    example = fields.get("example", schema.get("example"))
    return [
        ParameterDefinition(
            name=name,
            location=location,
            data_type=_type(schema),
            format=_text(schema.get("format")),
            required=fields.get("required") is True,
            description=_text(fields.get("description")),
            example=_example(example),
            deprecated=fields.get("deprecated") is True,
        )
    ]


def _response_parameters(operation: SchemaPath, *, swagger: bool) -> list[ParameterDefinition]:
    """The headers and body properties of the operation's success response (the lowest 2xx, else default)."""
    if "responses" not in operation:
        return []
    responses = operation / "responses"
    codes = sorted(str(code) for code in _keys(responses))
    chosen = next((code for code in codes if code.startswith("2")), "default" if "default" in codes else None)
    if chosen is None:
        return []
    response = responses / chosen
    found: list[ParameterDefinition] = []
    if "headers" in response:
        for name in _keys(response / "headers"):
            header = response / "headers" / name
            with header.open() as raw:
                fields = _mapping(raw)
            schema = fields
            if "schema" in header:
                with (header / "schema").open() as raw_schema:
                    schema = _mapping(raw_schema)
            found.append(
                ParameterDefinition(
                    name=name,
                    location="header",
                    data_type=_type(schema),
                    format=_text(schema.get("format")),
                    description=_text(fields.get("description")),
                )
            )
    if swagger:
        if "schema" in response:
            found.extend(_schema_properties(response / "schema", required=True))
    else:
        found.extend(_content_properties(response, required=True))
    return found


def _content_properties(node: SchemaPath, *, required: bool) -> list[ParameterDefinition]:
    """The properties of the schema of a body's JSON media type (or its first one)."""
    if "content" not in node:
        return []
    content = node / "content"
    media_types = _keys(content)
    chosen = next((media for media in JSON_TYPES if media in media_types), media_types[0] if media_types else None)
    if chosen is None or "schema" not in content / chosen:
        return []
    return list(_schema_properties(content / chosen / "schema", required=required))


def _schema_properties(schema: SchemaPath, *, required: bool, depth: int = 0) -> Iterator[ParameterDefinition]:
    """The top-level properties of a body schema; `allOf` members are merged, an array's items are read.
    A property is required when its schema's `required` names it and the body itself is required (a
    response body is, when it is sent)."""
    with schema.open() as raw:
        fields = _mapping(raw)
    if depth > 4:
        return
    for key in ("allOf",):
        if key in schema:
            for member in schema / key:
                yield from _schema_properties(member, required=required, depth=depth + 1)
    if fields.get("type") == "array" and "items" in schema:
        yield from _schema_properties(schema / "items", required=required, depth=depth + 1)
        return
    if "properties" not in schema:
        return
    mandatory = {str(name) for name in _list(fields.get("required"))}
    properties = schema / "properties"
    for name in _keys(properties):
        with (properties / name).open() as raw_property:
            prop = _mapping(raw_property)
        yield ParameterDefinition(
            name=name,
            location="body",
            data_type=_type(prop),
            format=_text(prop.get("format")),
            required=required and name in mandatory,
            description=_text(prop.get("description")),
            example=_example(prop.get("example", _first(prop.get("examples")))),
            deprecated=prop.get("deprecated") is True,
        )


def _servers(document: Mapping[str, Any], url: str, *, swagger: bool) -> tuple[str, ...]:
    """The servers' URLs, absolute (a relative one is relative to the document's URL, as the specification
    says); a document without servers is served by the server it came from."""
    if swagger:
        host = document.get("host")
        base_path = str(document.get("basePath") or "/")
        if not host:
            return (urljoin(url, base_path),) if url.startswith("http") else ()
        schemes = [str(scheme) for scheme in _list(document.get("schemes"))] or ["https"]
        return tuple(f"{scheme}://{host}{base_path}" for scheme in schemes)
    found = []
    for server in _list(document.get("servers")):
        if isinstance(server, Mapping) and isinstance(server.get("url"), str):
            address = server["url"]
            found.append(urljoin(url, address) if url.startswith("http") else address)
    if not found and url.startswith("http"):
        found.append(urljoin(url, "/"))
    return tuple(dict.fromkeys(found))


# --- small readers of untrusted values ----------------------------------------------------------------------
def _keys(node: SchemaPath) -> list[str]:
    with node.open() as raw:
        return [str(key) for key in raw] if isinstance(raw, Mapping) else []


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _type(schema: Mapping[str, Any]) -> str | None:
    value = schema.get("type")
    if isinstance(value, list):  # OpenAPI 3.1: ["string", "null"]
        return "|".join(str(item) for item in value)
    if value is None and "$ref" not in schema and any(key in schema for key in ("oneOf", "anyOf")):
        return "oneOf" if "oneOf" in schema else "anyOf"
    return _text(value)


def _example(value: Any) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text[:EXAMPLE_LENGTH]


def _reason(error: BaseException) -> str:
    """The error's message and its cause's (referencing's Unresolvable names only the `$ref`)."""
    text = " ".join(str(error).split()) or type(error).__name__
    cause, depth = error.__cause__ or error.__context__, 0
    while cause is not None and depth < 5:
        message = " ".join(str(cause).strip("'\"").split())
        if message and message not in text:
            text = f"{text}: {message}"
        cause, depth = cause.__cause__ or cause.__context__, depth + 1
    return text[:300]
