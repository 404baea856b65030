"""Query parameters of each endpoint as pydantic models, and the opaque cursors that page through results.

Unknown or repeated parameters are refused (400), not ignored: a misspelt filter silently dropped would
return the whole catalogue as if it were the answer.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Literal, TypeVar

from multidict import MultiMapping
from pydantic import BaseModel, ConfigDict, Field, ValidationError

MAX_LIMIT = 500
MAX_DEPTH = 5


class BadRequest(Exception):
    """A parameter the catalogue cannot serve; the message is the 400's detail."""


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SearchParams(_Params):
    text: str | None = Field(default=None, max_length=200, description="substring of name, qualified name, ...")
    type: str | None = Field(default=None, description="element type name, with its subtypes unless subtypes=false")
    subtypes: bool = True
    collection: str | None = Field(default=None, description="owning metadata collection")
    zone: str | None = None
    classification: str | None = Field(default=None, description="carries a classification of this name")
    archived: bool = Field(default=False, description="include archived elements")
    limit: int = Field(default=50, ge=1, le=MAX_LIMIT)
    cursor: str | None = Field(default=None, description="next_cursor of the previous page")


class PageParams(_Params):
    type: str | None = Field(default=None, description="relationship type name")
    limit: int = Field(default=50, ge=1, le=MAX_LIMIT)
    cursor: str | None = None


class NeighbourhoodParams(_Params):
    depth: int = Field(default=1, ge=1, le=MAX_DEPTH)
    type: str | None = Field(default=None, description="follow only relationships of this type")


class LineageParams(_Params):
    direction: Literal["upstream", "downstream"] = "downstream"
    depth: int = Field(default=3, ge=1, le=MAX_DEPTH)


class FeedParams(_Params):
    after: int | None = Field(default=None, ge=0, description="resume after this sequence (as Last-Event-ID)")


P = TypeVar("P", bound=_Params)


def parse(model: type[P], query: MultiMapping[str]) -> P:
    """The model of a request's query string; BadRequest naming each bad parameter."""
    repeated = sorted({key for key in query if len(query.getall(key)) > 1})
    if repeated:
        raise BadRequest(f"parameter given more than once: {', '.join(repeated)}")
    try:
        return model.model_validate(dict(query))
    except ValidationError as error:
        problems = []
        for item in error.errors():
            where = ".".join(str(part) for part in item["loc"]) or "query"
            message = "unknown parameter" if item["type"] == "extra_forbidden" else item["msg"]
            problems.append(f"{where}: {message}")
        raise BadRequest("; ".join(problems)) from None


def _digest(filters: BaseModel) -> str:
    """Binds a cursor to the filters it was made for: reusing it with others would page a different list."""
    shown = filters.model_dump(mode="json", exclude={"cursor", "limit"})
    return hashlib.sha256(json.dumps(shown, sort_keys=True).encode()).hexdigest()[:16]


def encode_cursor(offset: int, filters: BaseModel) -> str:
    raw = json.dumps({"o": offset, "f": _digest(filters)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, filters: BaseModel) -> int:
    """The offset a cursor stands for (0 without one); BadRequest for a forged, damaged or foreign cursor."""
    if cursor is None:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        offset, digest = data["o"], data["f"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise BadRequest("cursor: not a cursor this catalogue issued") from None
    if not isinstance(offset, int) or offset < 0 or digest != _digest(filters):
        raise BadRequest("cursor: it belongs to a different query; start again without a cursor")
    return offset
