"""The records the open metadata repository stores and returns (Egeria's entity, relationship, event)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class InstanceStatus(StrEnum):
    ACTIVE = "ACTIVE"
    ARCHIVED = "ARCHIVED"


class Classification(BaseModel):
    name: str
    properties: dict[str, Any] = Field(default_factory=dict)


class Provenance(BaseModel):
    """Which connector refresh last wrote or observed an element, so a refresh can be inspected or rolled back."""

    created_by_refresh: str | None = None
    last_refresh_id: str | None = None
    last_observed_time: datetime | None = None


class Curation(BaseModel):
    """Who curated one property of an element, and when: human edits are attributed, like harvested ones."""

    curator: str
    time: datetime


class Element(BaseModel):
    """An entity. `properties` are harvested by connectors; `curated_properties` are human edits that win,
    and `curations` says, for each curated property, who set it and when."""

    guid: str
    type_name: str
    qualified_name: str
    properties: dict[str, Any] = Field(default_factory=dict)
    curated_properties: dict[str, Any] = Field(default_factory=dict)
    curations: dict[str, Curation] = Field(default_factory=dict)
    classifications: list[Classification] = Field(default_factory=list)
    zone_membership: list[str] = Field(default_factory=list)
    metadata_collection: str
    status: InstanceStatus = InstanceStatus.ACTIVE
    version: int = 1
    create_time: datetime
    update_time: datetime
    provenance: Provenance = Field(default_factory=Provenance)

    @property
    def effective_properties(self) -> dict[str, Any]:
        """Harvested properties overlaid with curated ones: what a reader should see."""
        return {**self.properties, **self.curated_properties}

    def classification(self, name: str) -> Classification | None:
        return next((c for c in self.classifications if c.name == name), None)


class Relationship(BaseModel):
    guid: str
    type_name: str
    end1_guid: str
    end2_guid: str
    properties: dict[str, Any] = Field(default_factory=dict)
    metadata_collection: str
    status: InstanceStatus = InstanceStatus.ACTIVE
    version: int = 1
    create_time: datetime
    update_time: datetime


class ChangeKind(StrEnum):
    """Out-topic event kinds; also the result of an upsert (`UNCHANGED` is never published)."""

    ELEMENT_CREATED = "ELEMENT_CREATED"
    ELEMENT_UPDATED = "ELEMENT_UPDATED"
    ELEMENT_ARCHIVED = "ELEMENT_ARCHIVED"
    ELEMENT_RESTORED = "ELEMENT_RESTORED"
    ELEMENT_DELETED = "ELEMENT_DELETED"
    ELEMENT_CLASSIFIED = "ELEMENT_CLASSIFIED"
    ELEMENT_RECLASSIFIED = "ELEMENT_RECLASSIFIED"
    ELEMENT_DECLASSIFIED = "ELEMENT_DECLASSIFIED"
    RELATIONSHIP_CREATED = "RELATIONSHIP_CREATED"
    RELATIONSHIP_UPDATED = "RELATIONSHIP_UPDATED"
    RELATIONSHIP_DELETED = "RELATIONSHIP_DELETED"
    UNCHANGED = "UNCHANGED"


class ChangeEvent(BaseModel):
    """One out-topic event. `sequence` is strictly increasing per repository: listeners resume from it.

    `metadata_collection` is the collection whose transaction made the change (a connector's metadata
    source, for every kind of write) and `refresh_id` the refresh it was part of; None when it was made
    outside a refresh (engage, a listener, a change batch, a person's curation). Why both: events arrive
    after commit, so a listener tells the echoes of its own connector's writes by them, not by timing.
    """

    sequence: int
    kind: ChangeKind
    event_time: datetime
    metadata_collection: str
    refresh_id: str | None = None
    element: Element | None = None
    relationship: Relationship | None = None
    previous_element: Element | None = None
    previous_relationship: Relationship | None = None


class Page(BaseModel):
    """Paging of a retrieval, as Egeria's `startFrom` / `pageSize`."""

    start_from: int = Field(default=0, ge=0)
    page_size: int = Field(default=100, ge=1, le=10_000)


class ChangeCounts(BaseModel):
    """What one transaction changed, by kind; becomes the refresh statistics."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    archived: int = 0
    restored: int = 0
    deleted: int = 0
    would_archive: int = 0
