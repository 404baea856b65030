"""The catalogue's one write: a person's curation of an element's properties (`PATCH /api/v1/elements/{guid}`).

A curated value wins over the harvested one from then on, whoever owns the element, and a later refresh
of its connector does not overwrite it (the repository keeps curated and harvested properties apart); a
null removes that curation, so the harvested value shows again. Every curated property records its
curator, the authenticated user, and the time. The values are validated by the repository's types, as a
connector's are, so a curation cannot store what a harvest could not; the qualified name is the element's
identity and is not curated.

Synchronous like the reads (the server runs it on a worker thread): one transaction per request, then
the element is read back as `GET` returns it.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from metaferry_catalog.models import ElementDetail
from metaferry_catalog.params import BadRequest
from metaferry_catalog.reads import Reads
from metaferry_runtime.repository import TypeErrorInRepository

#: A curation is a few properties a person typed; anything larger is not one.
MAX_BODY_BYTES = 64 * 1024
#: The metadata collection of curation transactions (their events' `metadata_collection`): no connector's,
#: so no connector takes a person's edit for the echo of its own write.
CURATION_COLLECTION = "catalogue-curation"
IDENTITY = "qualifiedName"


class CurationRequest(BaseModel):
    """The body of a curation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    properties: dict[str, Any] = Field(
        min_length=1,
        description="property name -> its curated value, or null to remove that curation"
        " (the harvested value shows again); GET /api/v1/types lists each type's properties",
    )


def parse_curation(body: bytes) -> CurationRequest:
    """The curation a request body holds; BadRequest saying what is wrong with it."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadRequest(f"the body is not JSON: {error}") from None
    if not isinstance(data, dict):
        raise BadRequest('the body must be a JSON object: {"properties": {"NAME": value or null}}')
    try:
        curation = CurationRequest.model_validate(data)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            where = ".".join(str(part) for part in item["loc"]) or "body"
            if item["type"] == "extra_forbidden":
                message = "unknown field (only `properties`)"
            elif item["type"] == "too_short":
                message = "name at least one property"
            else:
                message = item["msg"]
            problems.append(f"{where}: {message}")
        raise BadRequest("; ".join(problems)) from None
    if IDENTITY in curation.properties:
        raise BadRequest(f"property {IDENTITY!r} is the element's identity and cannot be curated")
    return curation


class Writes:
    def __init__(self, reads: Reads) -> None:
        self.reads = reads

    def curate(self, guid: str, curation: CurationRequest, *, curator: str) -> ElementDetail:
        """Record the curation as `curator`'s; ElementNotFound for an unknown (or archived) GUID."""
        try:
            with self.reads.repository.transaction(actor=CURATION_COLLECTION) as tx:
                tx.curate_element(guid, curation.properties, curator=curator)
        except TypeErrorInRepository as error:  # names the property and what its type allows
            raise BadRequest(f"{error} (GET /api/v1/types lists them)") from None
        return self.reads.element(guid)
