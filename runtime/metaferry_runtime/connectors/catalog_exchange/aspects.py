"""DataHub's metadata change proposals and the aspects this connector exchanges, as pydantic models.

A file of DataHub metadata (what `datahub ingest`'s `file` sink writes and its `file` source reads) is a JSON
list of records. A metadata change proposal (MCP) names one entity by URN and carries one aspect:
`{"entityType", "entityUrn", "changeType": "UPSERT", "aspectName", "aspect": {"json": {...}}}` (older
writers put the aspect as a JSON string in `aspect.value` with `contentType`). A metadata change event (MCE,
the older form) carries a snapshot of one entity with several aspects, each keyed by its Pegasus class name
(`com.linkedin.pegasus2avro.schema.SchemaMetadata`). Field names are DataHub's (camelCase), and a union is
an object with one key naming the member's class, as DataHub's JSON has it (`{"com.linkedin.schema.NumberType":
{}}`). Why our own models and not DataHub's: metaferry must not depend on `acryl-datahub` at run time;
the tests check these against it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

#: Who wrote an aspect, when DataHub asks for an audit stamp.
ACTOR = "urn:li:corpuser:metaferry"
SCHEMA_TYPES = "com.linkedin.schema."


class Aspect(BaseModel):
    """An aspect: unknown fields are kept on reading, so nothing DataHub adds breaks the import."""

    model_config = ConfigDict(extra="allow")


class Status(Aspect):
    removed: bool = False


class SubTypes(Aspect):
    typeNames: list[str] = Field(default_factory=list)


class DatasetProperties(Aspect):
    name: str | None = None
    qualifiedName: str | None = None
    description: str | None = None
    customProperties: dict[str, str] = Field(default_factory=dict)


class ContainerProperties(Aspect):
    name: str = ""
    qualifiedName: str | None = None
    description: str | None = None
    customProperties: dict[str, str] = Field(default_factory=dict)


class Container(Aspect):
    container: str


class DataPlatformInstance(Aspect):
    platform: str


class AuditStamp(BaseModel):
    time: int = 0
    actor: str = ACTOR


class SchemaField(BaseModel):
    model_config = ConfigDict(extra="allow")

    fieldPath: str
    nativeDataType: str = ""
    #: `{"type": {"com.linkedin.schema.NumberType": {}}}`
    type: dict[str, dict[str, Any]] = Field(default_factory=lambda: {"type": {SCHEMA_TYPES + "NullType": {}}})
    nullable: bool = False
    description: str | None = None
    isPartOfKey: bool = False

    @property
    def type_class(self) -> str:
        """The short name of the field's DataHub type (`NumberType`)."""
        member = next(iter(self.type.get("type") or {}), "")
        return member.rsplit(".", 1)[-1]


class SchemaMetadata(Aspect):
    schemaName: str = ""
    platform: str = ""
    version: int = 0
    hash: str = ""
    platformSchema: dict[str, dict[str, Any]] = Field(
        default_factory=lambda: {SCHEMA_TYPES + "OtherSchema": {"rawSchema": ""}}
    )
    fields: list[SchemaField] = Field(default_factory=list)
    primaryKeys: list[str] | None = None


class Upstream(BaseModel):
    model_config = ConfigDict(extra="allow")

    auditStamp: AuditStamp = Field(default_factory=AuditStamp)
    dataset: str
    type: str = "TRANSFORMED"


class UpstreamLineage(Aspect):
    upstreams: list[Upstream] = Field(default_factory=list)


class ViewProperties(Aspect):
    materialized: bool = False
    viewLogic: str = ""
    viewLanguage: str = "SQL"


class DataFlowInfo(Aspect):
    name: str
    description: str | None = None
    customProperties: dict[str, str] = Field(default_factory=dict)


class DataJobInfo(Aspect):
    name: str
    description: str | None = None
    #: `{"string": "COMMAND"}`: a string or one of DataHub's Azkaban job types.
    type: dict[str, str] | str = Field(default_factory=lambda: {"string": "COMMAND"})
    customProperties: dict[str, str] = Field(default_factory=dict)


class DataJobInputOutput(Aspect):
    inputDatasets: list[str] = Field(default_factory=list)
    outputDatasets: list[str] = Field(default_factory=list)


#: Aspect name -> model: the aspects this connector writes and reads; others are passed over on reading.
ASPECTS: dict[str, type[Aspect]] = {
    "status": Status,
    "subTypes": SubTypes,
    "datasetProperties": DatasetProperties,
    "containerProperties": ContainerProperties,
    "container": Container,
    "dataPlatformInstance": DataPlatformInstance,
    "schemaMetadata": SchemaMetadata,
    "upstreamLineage": UpstreamLineage,
    "viewProperties": ViewProperties,
    "dataFlowInfo": DataFlowInfo,
    "dataJobInfo": DataJobInfo,
    "dataJobInputOutput": DataJobInputOutput,
}
ASPECT_NAMES: dict[type[Aspect], str] = {model: name for name, model in ASPECTS.items()}


class AspectJson(BaseModel):
    json_: dict[str, Any] = Field(alias="json")


class Proposal(BaseModel):
    """One metadata change proposal, as DataHub's file sink writes it."""

    model_config = ConfigDict(populate_by_name=True)

    entityType: str
    entityUrn: str
    changeType: Literal["UPSERT"] = "UPSERT"
    aspectName: str
    aspect: AspectJson

    @classmethod
    def of(cls, entity_urn: str, aspect: Aspect) -> Proposal:
        return cls(
            entityType=entity_type(entity_urn),
            entityUrn=entity_urn,
            aspectName=ASPECT_NAMES[type(aspect)],
            aspect=AspectJson(json=aspect.model_dump(mode="json", exclude_none=True)),
        )

    def document(self) -> dict[str, Any]:
        """The record as JSON-ready data (`aspect.json`, as `datahub ingest`'s file sink writes it)."""
        return self.model_dump(mode="json", by_alias=True)


def entity_type(urn: str) -> str:
    """`urn:li:dataset:(...)` -> `dataset`."""
    parts = urn.split(":", 3)
    if len(parts) < 4 or parts[0] != "urn" or parts[1] != "li":
        raise ValueError(f"{urn!r} is not a DataHub URN (urn:li:<entity type>:<key>)")
    return parts[2]
