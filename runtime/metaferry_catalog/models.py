"""The catalogue's responses, one pydantic model each: the handlers return them and `/openapi.json` is
generated from them, so the document cannot drift from what is served."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from metaferry_runtime.repository import Element, InstanceStatus, Relationship


class Problem(BaseModel):
    """Every error: `status` repeats the HTTP status, `detail` says what was wrong with the request."""

    status: int
    title: str
    detail: str


class ElementProvenance(BaseModel):
    """Where an element came from: the metadata collection (connector) that owns it and the refreshes."""

    metadata_collection: str = Field(description="the owning connector's metadataSourceQualifiedName")
    created_by_refresh: str | None = Field(description="the refresh that created it; null outside a refresh")
    last_refresh_id: str | None = Field(description="the refresh that last created, changed or observed it")
    last_observed_time: datetime | None = Field(description="when a refresh last saw it")


class ElementSummary(BaseModel):
    """One element in a search result or a graph."""

    guid: str
    type_name: str
    qualified_name: str
    display_name: str | None = Field(description="displayName, else name, of the effective properties")
    status: InstanceStatus
    metadata_collection: str
    zones: list[str]
    classifications: list[str] = Field(description="the names of its classifications")
    update_time: datetime

    @classmethod
    def of(cls, element: Element) -> ElementSummary:
        shown = element.effective_properties
        name = shown.get("displayName") or shown.get("name")
        return cls(
            guid=element.guid,
            type_name=element.type_name,
            qualified_name=element.qualified_name,
            display_name=name if isinstance(name, str) else None,
            status=element.status,
            metadata_collection=element.metadata_collection,
            zones=element.zone_membership,
            classifications=[c.name for c in element.classifications],
            update_time=element.update_time,
        )


class ElementPage(BaseModel):
    items: list[ElementSummary]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")


class RelationshipView(BaseModel):
    guid: str
    type_name: str
    end1_guid: str
    end2_guid: str
    properties: dict[str, Any]
    metadata_collection: str
    create_time: datetime
    update_time: datetime

    @classmethod
    def of(cls, relationship: Relationship) -> RelationshipView:
        return cls.model_validate(relationship.model_dump(exclude={"status", "version"}))


class RelationshipPage(BaseModel):
    items: list[RelationshipView]
    next_cursor: str | None


class ClassificationView(BaseModel):
    name: str
    properties: dict[str, Any]


class CurationView(BaseModel):
    curator: str
    time: datetime


class ElementDetail(BaseModel):
    """One element whole. `properties` is what a reader should see (harvested overlaid with curated);
    `harvested_properties` and `curated_properties` keep the two apart, `curations` says who curated what."""

    guid: str
    type_name: str
    supertypes: list[str] = Field(description="its type's ancestors, nearest first")
    qualified_name: str
    status: InstanceStatus
    version: int
    properties: dict[str, Any]
    harvested_properties: dict[str, Any]
    curated_properties: dict[str, Any]
    curations: dict[str, CurationView]
    classifications: list[ClassificationView]
    zones: list[str]
    create_time: datetime
    update_time: datetime
    provenance: ElementProvenance
    relationships: RelationshipPage = Field(description="its first relationships; page on at .../relationships")


class Graph(BaseModel):
    """Elements reached from `root` to `depth` hops, and the relationships that reach them."""

    root: str
    depth: int
    nodes: list[ElementSummary]
    edges: list[RelationshipView]
    truncated: bool = Field(description="true when the node limit stopped the walk before `depth`")


class PropertyView(BaseModel):
    kind: str
    values: list[str] | None = Field(default=None, description="the only values an enumerated string allows")


class ElementTypeView(BaseModel):
    name: str
    supertype: str | None
    description: str
    properties: dict[str, PropertyView] = Field(description="its own and inherited properties")


class RelationshipTypeView(BaseModel):
    name: str
    end1_type: str
    end1_name: str
    end2_type: str
    end2_name: str
    description: str
    properties: dict[str, PropertyView]


class ClassificationTypeView(BaseModel):
    name: str
    valid_entity_types: list[str]
    description: str
    properties: dict[str, PropertyView]


class TypeCatalog(BaseModel):
    element_types: list[ElementTypeView]
    relationship_types: list[RelationshipTypeView]
    classifications: list[ClassificationTypeView]


class Health(BaseModel):
    status: str
    head_sequence: int = Field(description="the repository's last committed event")
