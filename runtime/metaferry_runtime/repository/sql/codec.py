"""Column values: how the SQL backend writes and reads JSON, times and GUIDs, and builds models.

Everything here is on a refresh's hot path (one call per element and column), so each function says what
shortcut it takes and why; the records (records.py) use them to convert rows to records and back.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypeVar

from pydantic import BaseModel

_GUID_BATCH = 1024
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}
_guids: list[str] = []


def new_guid() -> str:
    """A random (version 4) UUID as text, like `str(uuid.uuid4())`.

    Why not uuid.uuid4(): a first refresh makes a GUID per element and relationship, and building a UUID
    object per GUID costs several times the formatting. Random bytes are drawn in batches and formatted
    directly, with the version and variant bits set as RFC 9562 requires.
    """
    while True:
        try:
            return _guids.pop()  # atomic: threads may share the batch
        except IndexError:
            data = os.urandom(16 * _GUID_BATCH).hex()
            _guids.extend(
                f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"
                for h in (data[i : i + 32] for i in range(0, len(data), 32))
            )


os.register_at_fork(after_in_child=_guids.clear)  # a forked child must not hand out its parent's GUIDs


_M = TypeVar("_M", bound=BaseModel)


def construct(cls: type[_M], values: dict[str, Any]) -> _M:
    """A model from values known to be valid: what `model_construct` does, without its per-field work
    (which costs more than the rest of an unchanged upsert). `values` must give every field."""
    instance = cls.__new__(cls)
    object.__setattr__(instance, "__dict__", values)
    object.__setattr__(instance, "__pydantic_fields_set__", set(values))
    object.__setattr__(instance, "__pydantic_extra__", None)
    object.__setattr__(instance, "__pydantic_private__", None)
    return instance


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
dumps = _ENCODER.encode
_EMPTY_TEXT = {dict: "{}", list: "[]"}


def column_json(value: dict[str, Any] | list[Any]) -> str:
    """`dumps` for a JSON column. Why: most curated properties, classifications, zones and link properties
    are empty, and the encoder's fixed cost per call is most of a refresh's JSON time."""
    return (not value and _EMPTY_TEXT.get(type(value))) or dumps(value)


_SCALARS = frozenset({str, int, float, bool})
_scalars_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode


def scalar_properties_json(properties: Mapping[str, Any]) -> str | None:
    """`dumps(properties)` when every name is a str and every value a str, int, float (not NaN or infinite)
    or bool, exactly those types; else None. Such JSON texts are equal only when the two dicts have the same
    names in the same order, each with an equal value of the same type, so comparing one with stored text
    tells whether the properties are the stored ones without decoding that text."""
    if type(properties) is not dict:
        return None
    for name, value in properties.items():
        if type(name) is not str or type(value) not in _SCALARS:
            return None
    try:
        return _scalars_dumps(properties)
    except ValueError:  # NaN or infinity: equal texts would not mean equal values
        return None


json_string = json.encoder.encode_basestring  # what `dumps` uses for a string (ensure_ascii=False)


def optional_json_string(value: str | None) -> str:
    return "null" if value is None else json_string(value)


_EMPTY_JSON: dict[str, Any] = {"{}": {}, "[]": []}


def json_value(value: Any) -> Any:
    """A JSON column as read: text on SQLite (decoded here), already decoded by psycopg on PostgreSQL."""
    if isinstance(value, str):
        empty = _EMPTY_JSON.get(value)
        if empty is not None:
            return type(empty)()
        return json.loads(value)
    return value


@lru_cache(maxsize=4096)
def parse_time(text: str) -> datetime:
    # Cached: a transaction stamps everything it writes with one time, so a refresh's rows share few values.
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def time_value(value: Any) -> datetime | None:
    """A time column as read: ISO text on SQLite, a datetime on PostgreSQL; always UTC-aware."""
    if isinstance(value, str):
        return parse_time(value)
    return aware(value)


def aware(value: datetime | None) -> datetime | None:
    """As UTC: SQLite returns naive datetimes, PostgreSQL ones in the session time zone."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value if value.tzinfo is UTC else value.astimezone(UTC)
