"""Registry schemas (Avro, JSON Schema, Protobuf) as trees of fields, the shape EventSchemaAttributes take.

Each parser returns the event type's name and namespace and its top-level fields; a field that is a record
(an Avro record, a JSON object, a Protobuf message) carries its own fields as children, also inside arrays
and nullable unions. A schema that does not parse raises SchemaError with the reason; the connector then
catalogues the event type without attributes and says so in its audit record, instead of failing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

MAX_DEPTH = 20  # a recursive Avro or JSON type is cut here


class SchemaError(ValueError):
    pass


@dataclass
class SchemaField:
    name: str
    data_type: str
    nullable: bool = False
    repeated: bool = False
    default: str | None = None
    doc: str | None = None
    children: list[SchemaField] = field(default_factory=list)


@dataclass
class ParsedSchema:
    name: str
    namespace: str | None
    doc: str | None
    fields: list[SchemaField]

    @property
    def full_name(self) -> str:
        return f"{self.namespace}.{self.name}" if self.namespace else self.name


def parse(schema_type: str, text: str) -> ParsedSchema:
    if schema_type == "AVRO":
        return _avro(text)
    if schema_type == "JSON":
        return _json_schema(text)
    if schema_type == "PROTOBUF":
        return _protobuf(text)
    raise SchemaError(f"schema type {schema_type} is not supported")


# --- Avro ------------------------------------------------------------------------------------------------------
def _avro(text: str) -> ParsedSchema:
    try:
        schema = json.loads(text)
    except ValueError as error:
        raise SchemaError(f"the Avro schema is not JSON: {error}") from None
    if isinstance(schema, dict) and schema.get("type") == "record":
        named: dict[str, Any] = {}
        namespace = schema.get("namespace")
        return ParsedSchema(
            name=str(schema.get("name", "record")),
            namespace=namespace,
            doc=schema.get("doc"),
            fields=_avro_fields(schema, namespace, named, 0),
        )
    return ParsedSchema(name=_avro_type_name(schema), namespace=None, doc=None, fields=[])


def _avro_fields(record: dict[str, Any], namespace: str | None, named: dict[str, Any], depth: int) -> list[SchemaField]:
    full = record.get("name", "")
    if "." not in full and (record.get("namespace") or namespace):
        full = f"{record.get('namespace') or namespace}.{full}"
    named[full] = named[record.get("name", "")] = record
    if depth > MAX_DEPTH:
        return []
    result = []
    for entry in record.get("fields", []):
        if not isinstance(entry, dict) or "name" not in entry:
            raise SchemaError(f"a field of Avro record {full} has no name")
        schema_field = _avro_field(entry["name"], entry.get("type"), record.get("namespace") or namespace, named, depth)
        schema_field.doc = entry.get("doc")
        if "default" in entry:
            schema_field.default = json.dumps(entry["default"])
        result.append(schema_field)
    return result


def _avro_field(name: str, avro_type: Any, namespace: str | None, named: dict[str, Any], depth: int) -> SchemaField:
    nullable = False
    if isinstance(avro_type, list):
        others = [t for t in avro_type if t != "null"]
        nullable = len(others) < len(avro_type)
        if len(others) == 1:
            avro_type = others[0]
        else:
            return SchemaField(name, "union<" + ",".join(_avro_type_name(t) for t in others) + ">", nullable)
    repeated = False
    if isinstance(avro_type, dict) and avro_type.get("type") in ("array", "map"):
        repeated = avro_type["type"] == "array"
        inner = avro_type.get("items" if repeated else "values")
        label = f"{avro_type['type']}<{_avro_type_name(inner)}>"
        schema_field = _avro_field(name, inner, namespace, named, depth)
        return SchemaField(name, label, nullable, repeated, children=schema_field.children)
    if isinstance(avro_type, str) and avro_type in named:  # a reference to a named record
        avro_type = named[avro_type]
        return SchemaField(name, _avro_type_name(avro_type), nullable, repeated)  # recursion: not expanded again
    children: list[SchemaField] = []
    if isinstance(avro_type, dict) and avro_type.get("type") == "record":
        children = _avro_fields(avro_type, namespace, named, depth + 1)
    return SchemaField(name, _avro_type_name(avro_type), nullable, repeated, children=children)


def _avro_type_name(avro_type: Any) -> str:
    if isinstance(avro_type, str):
        return avro_type
    if isinstance(avro_type, list):
        return "union<" + ",".join(_avro_type_name(t) for t in avro_type) + ">"
    if isinstance(avro_type, dict):
        if avro_type.get("logicalType"):
            return f"{avro_type.get('type')}:{avro_type['logicalType']}"
        if avro_type.get("type") in ("record", "enum", "fixed"):
            return str(avro_type.get("name", avro_type["type"]))
        return str(avro_type.get("type", "unknown"))
    return "unknown"


# --- JSON Schema -------------------------------------------------------------------------------------------------
def _json_schema(text: str) -> ParsedSchema:
    try:
        schema = json.loads(text)
    except ValueError as error:
        raise SchemaError(f"the JSON schema is not JSON: {error}") from None
    if not isinstance(schema, dict):
        raise SchemaError("the JSON schema is not an object")
    definitions = {**schema.get("definitions", {}), **schema.get("$defs", {})}
    return ParsedSchema(
        name=str(schema.get("title", "object")),
        namespace=None,
        doc=schema.get("description"),
        fields=_json_properties(schema, definitions, 0),
    )


def _json_properties(schema: dict[str, Any], definitions: dict[str, Any], depth: int) -> list[SchemaField]:
    if depth > MAX_DEPTH:
        return []
    required = set(schema.get("required", []))
    result = []
    for name, prop in schema.get("properties", {}).items():
        prop = _json_resolve(prop, definitions)
        types = prop.get("type", "object" if "properties" in prop else "any")
        types = types if isinstance(types, list) else [types]
        nullable = "null" in types or name not in required
        kind = next((t for t in types if t != "null"), "null")
        repeated = kind == "array"
        target = _json_resolve(prop.get("items", {}), definitions) if repeated else prop
        label = f"array<{target.get('type', 'any')}>" if repeated else str(kind)
        if prop.get("format"):
            label += f":{prop['format']}"
        default = json.dumps(prop["default"]) if "default" in prop else None
        children = _json_properties(target, definitions, depth + 1) if "properties" in target else []
        result.append(SchemaField(name, label, nullable, repeated, default, prop.get("description"), children))
    return result


def _json_resolve(prop: Any, definitions: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(prop, dict):
        return {}
    reference = prop.get("$ref")
    if isinstance(reference, str) and reference.startswith(("#/definitions/", "#/$defs/")):
        return dict(definitions.get(reference.rsplit("/", 1)[1], {}))
    return prop


# --- Protobuf ----------------------------------------------------------------------------------------------------
_TOKENS = re.compile(r'"(?:\\.|[^"\\])*"|[A-Za-z_][\w.]*|-?\d+|[{}=;<>,\[\]()]')
_COMMENTS = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)


def _protobuf(text: str) -> ParsedSchema:
    """The first message of a .proto file (what Confluent's serializer writes by default), with nested ones."""
    tokens = _TOKENS.findall(_COMMENTS.sub(" ", text))
    package = None
    messages: dict[str, list[tuple[str, str, bool]]] = {}
    order: list[str] = []
    position = 0
    while position < len(tokens):
        token = tokens[position]
        if token == "package":
            package = tokens[position + 1]
            position += 2
        elif token == "message":
            position = _proto_message(tokens, position + 1, "", messages, order)
        else:
            position += 1
    if not order:
        raise SchemaError("the Protobuf schema declares no message")

    def fields_of(message: str, depth: int) -> list[SchemaField]:
        result = []
        for name, type_name, repeated in messages.get(message, []):
            nested = _proto_lookup(type_name, message, messages)
            children = fields_of(nested, depth + 1) if nested is not None and depth < MAX_DEPTH else []
            result.append(SchemaField(name, type_name, nullable=not repeated, repeated=repeated, children=children))
        return result

    first = order[0]
    return ParsedSchema(name=first, namespace=package, doc=None, fields=fields_of(first, 0))


def _proto_message(
    tokens: list[str], position: int, outer: str, messages: dict[str, list[tuple[str, str, bool]]], order: list[str]
) -> int:
    """Read `message <name> { ... }` from the name on; returns the position after its closing brace."""
    name = f"{outer}.{tokens[position]}" if outer else tokens[position]
    messages[name] = []
    order.append(name)
    position += 2  # the name and "{"
    open_oneofs = 0  # a oneof's fields are the message's own, each nullable
    while position < len(tokens):
        token = tokens[position]
        if token == "}":
            if open_oneofs == 0:
                return position + 1
            open_oneofs -= 1
            position += 1
        elif token == "message":
            position = _proto_message(tokens, position + 1, name, messages, order)
        elif token == "enum":
            position = _proto_skip_block(tokens, position)
        elif token == "oneof":
            open_oneofs += 1
            position += 3  # oneof <name> {
        elif token in ("reserved", "option", "extensions", ";"):
            position = tokens.index(";", position) + 1
        elif token == "map":  # map<key, value> name = n;
            close = tokens.index(">", position)
            messages[name].append((tokens[close + 1], f"map<{tokens[position + 2]},{tokens[close - 1]}>", True))
            position = tokens.index(";", close) + 1
        elif token in ("optional", "required", "repeated"):
            messages[name].append((tokens[position + 2], tokens[position + 1], token == "repeated"))
            position = tokens.index(";", position) + 1
        else:
            messages[name].append((tokens[position + 1], token, False))
            position = tokens.index(";", position) + 1
    raise SchemaError(f"message {name} is not closed")


def _proto_skip_block(tokens: list[str], position: int) -> int:
    depth = 0
    while position < len(tokens):
        if tokens[position] == "{":
            depth += 1
        elif tokens[position] == "}":
            depth -= 1
            if depth == 0:
                return position + 1
        position += 1
    return position


def _proto_lookup(type_name: str, scope: str, messages: dict[str, list[tuple[str, str, bool]]]) -> str | None:
    """The message a field's type names, looked up from the innermost scope outwards, as protoc does."""
    parts = scope.split(".")
    for cut in range(len(parts), -1, -1):
        candidate = ".".join([*parts[:cut], type_name]) if cut else type_name
        if candidate in messages:
            return candidate
    return None
