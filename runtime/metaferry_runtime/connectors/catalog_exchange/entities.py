"""What is exchanged, between open metadata and DataHub's records: one `Entity` per DataHub URN.

Export builds entities from the repository and turns them into proposals (`to_records`); import reads a
file's records, MCPs and MCEs alike, into entities (`from_records`: the aspects of one URN are merged in
file order, a later one winning) and writes them to the repository. Keeping this middle shape means both
directions share one mapping of DataHub's aspects, so what export writes is what import reads.

Open metadata properties without a DataHub field of their own travel as `customProperties` (text; other
kinds as JSON), with the element's type and qualified name under `metaferry.typeName` and
`metaferry.qualifiedName`, so an element exported and imported again is the same element.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from metaferry_runtime.connectors.catalog_exchange import aspects
from metaferry_runtime.connectors.catalog_exchange.urns import parse_dataset_urn, platform_urn
from metaferry_runtime.sdk import ConnectorError

TYPE_PROPERTY = "metaferry.typeName"
QUALIFIED_NAME_PROPERTY = "metaferry.qualifiedName"
#: MCE snapshot aspects are keyed by class (`com.linkedin.pegasus2avro.dataset.DatasetProperties`).
_MCE_ENTITY_TYPES = {"DatasetSnapshot": "dataset", "DataJobSnapshot": "dataJob", "DataFlowSnapshot": "dataFlow"}


class InvalidDataHubFile(ConnectorError):
    """The file is not DataHub metadata (not a JSON list of records, or a record breaks its aspect's shape)."""


class Column(BaseModel):
    name: str
    data_type: str = ""
    type_class: str = "NullType"
    nullable: bool = True
    description: str | None = None
    is_primary_key: bool = False


class Entity(BaseModel):
    """One DataHub entity (container, dataset, data flow, data job) as exchanged."""

    urn: str
    entity_type: str
    name: str | None = None
    description: str | None = None
    qualified_name: str | None = None
    type_name: str | None = None
    custom_properties: dict[str, str] = Field(default_factory=dict)
    platform: str | None = None
    sub_types: list[str] = Field(default_factory=list)
    container: str | None = None
    columns: list[Column] | None = None
    view_logic: str | None = None
    upstreams: list[str] = Field(default_factory=list)
    inputs: list[str] = Field(default_factory=list)
    outputs: list[str] = Field(default_factory=list)
    removed: bool = False

    def all_custom_properties(self) -> dict[str, str]:
        found = dict(self.custom_properties)
        if self.type_name:
            found[TYPE_PROPERTY] = self.type_name
        if self.qualified_name:
            found[QUALIFIED_NAME_PROPERTY] = self.qualified_name
        return found


def encode_property(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


# --- export: entities -> records ----------------------------------------------------------------------------
def to_records(entities: Iterable[Entity]) -> list[dict[str, Any]]:
    """The MCP records of the entities, in the order given (containers before what they contain)."""
    records: list[dict[str, Any]] = []
    for entity in entities:
        records.extend(aspects.Proposal.of(entity.urn, aspect).document() for aspect in _aspects_of(entity))
    return records


def _aspects_of(entity: Entity) -> Iterator[aspects.Aspect]:
    yield aspects.Status(removed=entity.removed)
    custom = entity.all_custom_properties()
    if entity.entity_type == "container":
        yield aspects.ContainerProperties(
            name=entity.name or "", description=entity.description, customProperties=custom
        )
    elif entity.entity_type == "dataset":
        yield aspects.DatasetProperties(
            name=entity.name,
            description=entity.description,
            qualifiedName=entity.qualified_name,
            customProperties=custom,
        )
    elif entity.entity_type == "dataFlow":
        yield aspects.DataFlowInfo(name=entity.name or "", description=entity.description, customProperties=custom)
    elif entity.entity_type == "dataJob":
        yield aspects.DataJobInfo(name=entity.name or "", description=entity.description, customProperties=custom)
        yield aspects.DataJobInputOutput(inputDatasets=entity.inputs, outputDatasets=entity.outputs)
        return
    if entity.entity_type == "dataFlow":
        return
    if entity.sub_types:
        yield aspects.SubTypes(typeNames=entity.sub_types)
    if entity.platform:
        yield aspects.DataPlatformInstance(platform=platform_urn(entity.platform))
    if entity.container:
        yield aspects.Container(container=entity.container)
    if entity.columns is not None and entity.entity_type == "dataset":
        yield _schema_metadata(entity, entity.columns)
    if entity.view_logic is not None:
        yield aspects.ViewProperties(viewLogic=entity.view_logic)
    if entity.upstreams:
        yield aspects.UpstreamLineage(upstreams=[aspects.Upstream(dataset=urn) for urn in entity.upstreams])


def _schema_metadata(entity: Entity, columns: list[Column]) -> aspects.SchemaMetadata:
    keys = [column.name for column in columns if column.is_primary_key]
    return aspects.SchemaMetadata(
        schemaName=entity.name or "",
        platform=platform_urn(entity.platform or "metaferry"),
        fields=[
            aspects.SchemaField(
                fieldPath=column.name,
                nativeDataType=column.data_type,
                type={"type": {aspects.SCHEMA_TYPES + column.type_class: {}}},
                nullable=column.nullable,
                description=column.description,
                isPartOfKey=column.is_primary_key,
            )
            for column in columns
        ],
        primaryKeys=keys or None,
    )


# --- import: records -> entities ----------------------------------------------------------------------------
def parse_document(text: str | bytes, source: str) -> list[Mapping[str, Any]]:
    """The records of a DataHub metadata file (a JSON list, or one record alone)."""
    try:
        document = json.loads(text)
    except ValueError as error:
        raise InvalidDataHubFile(f"{source} is not JSON: {error}") from None
    if isinstance(document, Mapping):
        document = [document]
    if not isinstance(document, list) or not all(isinstance(record, Mapping) for record in document):
        raise InvalidDataHubFile(f"{source} is not a JSON list of DataHub records (MCPs or MCEs)")
    return document


def from_records(records: Iterable[Mapping[str, Any]], source: str) -> list[Entity]:
    """The entities the records describe, in the order their URNs first appear."""
    entities: dict[str, Entity] = {}
    for index, record in enumerate(records):
        try:
            for urn, entity_type, aspect_name, value in _record_aspects(record):
                if entity_type not in ("container", "dataset", "dataFlow", "dataJob"):
                    continue
                entity = entities.get(urn)
                if entity is None:
                    entity = entities[urn] = Entity(urn=urn, entity_type=entity_type)
                _apply(entity, aspect_name, value)
        except (KeyError, TypeError, ValueError, ValidationError) as error:
            detail = f"missing field {error}" if isinstance(error, KeyError) else str(error)
            raise InvalidDataHubFile(f"{source}: record {index} is not valid DataHub metadata: {detail}") from None
    return list(entities.values())


def _record_aspects(record: Mapping[str, Any]) -> Iterator[tuple[str, str, str, Any]]:
    """(URN, entity type, aspect name, aspect JSON) of each aspect of an MCP or MCE record."""
    if "proposedSnapshot" in record:
        ((snapshot_class, snapshot),) = dict(record["proposedSnapshot"]).items()
        entity_type = _MCE_ENTITY_TYPES.get(snapshot_class.rsplit(".", 1)[-1], "")
        for aspect in snapshot["aspects"]:
            ((aspect_class, value),) = dict(aspect).items()
            short = aspect_class.rsplit(".", 1)[-1]
            yield snapshot["urn"], entity_type, short[:1].lower() + short[1:], value
        return
    urn = record["entityUrn"]
    entity_type = record.get("entityType") or aspects.entity_type(urn)
    change = record.get("changeType", "UPSERT")
    if change == "DELETE":
        yield urn, entity_type, "status", {"removed": True}
        return
    aspect = record.get("aspect")
    if aspect is None or change not in ("UPSERT", "CREATE", "UPDATE", "RESTATE"):
        return
    if "json" in aspect:
        value = aspect["json"]
    elif aspect.get("contentType", "application/json") == "application/json" and "value" in aspect:
        value = json.loads(aspect["value"])
    else:
        return
    yield urn, entity_type, record["aspectName"], value


def _apply(entity: Entity, aspect_name: str, value: Any) -> None:
    model = aspects.ASPECTS.get(aspect_name)
    if model is None:
        return
    aspect = model.model_validate(value)
    if isinstance(aspect, aspects.Status):
        entity.removed = aspect.removed
    elif isinstance(aspect, aspects.DatasetProperties | aspects.ContainerProperties):
        entity.name = aspect.name or entity.name
        entity.description = aspect.description
        _take_custom_properties(entity, aspect.customProperties)
    elif isinstance(aspect, aspects.DataFlowInfo | aspects.DataJobInfo):
        entity.name = aspect.name
        entity.description = aspect.description
        _take_custom_properties(entity, aspect.customProperties)
    elif isinstance(aspect, aspects.SubTypes):
        entity.sub_types = list(aspect.typeNames)
    elif isinstance(aspect, aspects.DataPlatformInstance):
        entity.platform = aspect.platform.removeprefix("urn:li:dataPlatform:")
    elif isinstance(aspect, aspects.Container):
        entity.container = aspect.container
    elif isinstance(aspect, aspects.SchemaMetadata):
        entity.columns = [_column(field, aspect.primaryKeys or ()) for field in aspect.fields]
        if entity.platform is None and aspect.platform:
            entity.platform = aspect.platform.removeprefix("urn:li:dataPlatform:")
    elif isinstance(aspect, aspects.ViewProperties):
        entity.view_logic = aspect.viewLogic
    elif isinstance(aspect, aspects.UpstreamLineage):
        entity.upstreams = [upstream.dataset for upstream in aspect.upstreams]
    elif isinstance(aspect, aspects.DataJobInputOutput):
        entity.inputs = list(aspect.inputDatasets)
        entity.outputs = list(aspect.outputDatasets)
    if entity.entity_type == "dataset" and entity.platform is None:
        entity.platform = parse_dataset_urn(entity.urn)[0]


def _take_custom_properties(entity: Entity, custom: Mapping[str, str]) -> None:
    found = dict(custom)
    entity.type_name = found.pop(TYPE_PROPERTY, None)
    entity.qualified_name = found.pop(QUALIFIED_NAME_PROPERTY, None)
    entity.custom_properties = found


def _column(field: aspects.SchemaField, primary_keys: Iterable[str]) -> Column:
    return Column(
        name=field.fieldPath,
        data_type=field.nativeDataType,
        type_class=field.type_class or "NullType",
        nullable=field.nullable,
        description=field.description,
        is_primary_key=field.isPartOfKey or field.fieldPath in primary_keys,
    )


def dump_records(records: list[dict[str, Any]]) -> str:
    """The file's text: indented as `datahub ingest`'s file sink writes it, with a final newline."""
    return json.dumps(records, indent=4, ensure_ascii=False) + "\n"
