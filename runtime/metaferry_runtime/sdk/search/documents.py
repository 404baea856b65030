"""The full-text index's schema, and what of an element goes into it.

One Tantivy document per active element, keyed by guid (a raw term, so an upsert is delete-by-guid then
add). Text fields use Tantivy's default tokenizer, which splits on anything not a letter or digit and lower-
cases: `file:///data/orders.csv` is found by `orders`, a column `customer_id` by `customer_id` (the phrase
`customer id`). `types` holds the element's type and its supertypes as raw terms, so a filter by `Asset`
finds DataFiles and tables. `properties` is the element's other scalar properties as `key: value` lines
(harvested overlaid with curated, what a reader sees). One more document, kind `cursor`, holds the
sequence of the last out-topic event indexed; it is replaced in the same commit as the changes it covers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import tantivy

from metaferry_runtime.repository import Element

#: The format of the documents below; a change gets a new directory (see `index.INDEX_SUBDIRECTORY`).
FORMAT_VERSION = 1

GUID = "guid"
KIND = "kind"
QUALIFIED_NAME = "qualified_name"
NAME = "name"
DESCRIPTION = "description"
TYPE_NAME = "type_name"
TYPES = "types"
METADATA_COLLECTION = "metadata_collection"
PROPERTIES = "properties"
SEQUENCE = "sequence"

ELEMENT_KIND = "element"
CURSOR_KIND = "cursor"
CURSOR_GUID = "metaferry:cursor"

#: The fields a query's words are looked for in, with their weights: a match in a name counts most.
SEARCHED_FIELDS = (NAME, QUALIFIED_NAME, DESCRIPTION, PROPERTIES)
FIELD_BOOSTS = {NAME: 3.0, QUALIFIED_NAME: 2.0, DESCRIPTION: 1.0, PROPERTIES: 0.5}
#: The fields a hit's highlights are made from.
HIGHLIGHTED_FIELDS = (NAME, QUALIFIED_NAME, DESCRIPTION, PROPERTIES)

#: Properties that are the name or description fields already.
_NAME_KEYS = ("displayName", "name")
_SKIPPED_KEYS = frozenset({"displayName", "name", "description"})
#: A property value longer than this is cut (a formula, a document): the index is for finding, not storing.
MAX_VALUE_CHARS = 2000

Supertypes = Callable[[str], Sequence[str]]


def build_schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field(GUID, stored=True, tokenizer_name="raw")
    builder.add_text_field(KIND, stored=False, tokenizer_name="raw")
    builder.add_text_field(QUALIFIED_NAME, stored=True)
    builder.add_text_field(NAME, stored=True)
    builder.add_text_field(DESCRIPTION, stored=True)
    builder.add_text_field(TYPE_NAME, stored=True, tokenizer_name="raw")
    builder.add_text_field(TYPES, stored=False, tokenizer_name="raw")
    builder.add_text_field(METADATA_COLLECTION, stored=True, tokenizer_name="raw")
    builder.add_text_field(PROPERTIES, stored=True)
    builder.add_unsigned_field(SEQUENCE, stored=True)
    return builder.build()


def element_fields(element: Element, supertypes: Supertypes) -> dict[str, Any]:
    """The document of one element, as the field values `tantivy.Document` takes."""
    properties = element.properties if not element.curated_properties else element.effective_properties
    name = next((str(properties[key]) for key in _NAME_KEYS if properties.get(key)), "")
    description = properties.get("description")
    return {
        GUID: element.guid,
        KIND: ELEMENT_KIND,
        QUALIFIED_NAME: element.qualified_name,
        NAME: name,
        DESCRIPTION: str(description) if description else "",
        TYPE_NAME: element.type_name,
        TYPES: list(supertypes(element.type_name)),
        METADATA_COLLECTION: element.metadata_collection,
        PROPERTIES: _property_lines(properties),
    }


def cursor_fields(sequence: int) -> dict[str, Any]:
    return {GUID: CURSOR_GUID, KIND: CURSOR_KIND, SEQUENCE: sequence}


def _property_lines(properties: dict[str, Any]) -> str:
    lines = []
    for key, value in properties.items():
        if key in _SKIPPED_KEYS or value is None or value == "":
            continue
        if isinstance(value, list):
            text = ", ".join(str(item) for item in value if isinstance(item, str | int | float))
        elif isinstance(value, str | int | float):
            text = str(value)
        else:
            continue  # a nested object: not a key property
        if text:
            lines.append(f"{key}: {text[:MAX_VALUE_CHARS]}")
    return "\n".join(lines)
