"""Import: DataHub entities into open metadata elements, each keeping its DataHub URN as an external identifier.

Which element an entity is, in this order: the element this connector already linked to the URN (so a
second import updates it, whatever else changed); else the element with the entity's qualified name (the
one it was exported from, `metaferry.qualifiedName`, or the URN itself for what DataHub catalogued); else
a new one. An element another metadata source owns is never changed: it gets the external identifier, so
lineage and later imports find it, and its children are that source's business.

Types follow DataHub's subtypes and containers, in the database service's shape where DataHub has one:
a `Database` container is a Database, a `Schema` container a DeployedDatabaseSchema (DataContentForDataSet
from its database), a table or view in a schema a RelationalTable or RelationalView with RelationalColumns;
a `Folder` container a FileFolder; a file dataset a DataFile in its folder; a Kafka dataset a KafkaTopic;
any other dataset a DataSet with TabularColumns; a data job a Process with DataFlow links from its inputs
and to its outputs. `metaferry.typeName` (what export writes) names the type outright.

What the file no longer has (or marks `status.removed`) is archived by deletion detection at the end of
the refresh, among the elements this connector owns only.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from metaferry_runtime.connectors.catalog_exchange.entities import Column, Entity
from metaferry_runtime.sdk import ChangeKind, Element, ElementUpsert
from metaferry_runtime.sdk.contexts.catalog import CatalogIntegratorContext

#: The types import creates: deletion detection looks at these.
IMPORTED_TYPES = (
    "Database",
    "DeployedDatabaseSchema",
    "FileFolder",
    "DataSet",
    "DataFile",
    "Topic",
    "RelationalTable",
    "RelationalColumn",
    "TabularColumn",
    "Process",
)
_CONTAINER_TYPES = {
    "database": "Database",
    "schema": "DeployedDatabaseSchema",
    "folder": "FileFolder",
    "directory": "FileFolder",
    "bucket": "FileFolder",
}
_FILE_PLATFORMS = frozenset({"file", "s3", "gcs", "adls", "hdfs"})


@dataclass
class ImportCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    linked: int = 0  # elements another source owns, given the URN as an external identifier
    skipped: int = 0  # entities of no type this connector imports
    removed: int = 0  # entities the file marks removed

    def count(self, change: ChangeKind) -> None:
        if change in (ChangeKind.ELEMENT_CREATED, ChangeKind.ELEMENT_RESTORED):
            self.created += 1
        elif change is ChangeKind.UNCHANGED:
            self.unchanged += 1
        else:
            self.updated += 1


@dataclass
class _Placed:
    """Where an entity went: its element, and whether this connector owns (so writes) it."""

    element: Element
    owned: bool


@dataclass
class Importer:
    context: CatalogIntegratorContext
    counts: ImportCounts = field(default_factory=ImportCounts)
    placed: dict[str, _Placed] = field(default_factory=dict)

    @property
    def mine(self) -> str:
        return self.context.get_metadata_source_qualified_name()

    def run(self, entities: list[Entity]) -> ImportCounts:
        by_urn = {entity.urn: entity for entity in entities}
        live = [entity for entity in entities if not entity.removed]
        self.counts.removed = len(entities) - len(live)
        containers = [e for e in live if e.entity_type == "container"]
        for entity in sorted(containers, key=lambda e: self._depth(e, by_urn)):
            self._container(entity)
        for entity in live:
            if entity.entity_type == "dataset":
                self._dataset(entity)
        explained: set[tuple[str, str]] = set()
        for entity in live:
            if entity.entity_type == "dataJob":
                self._process(entity)
                explained.update((source, target) for source in entity.inputs for target in entity.outputs)
            elif entity.entity_type == "dataFlow":
                self.counts.skipped += 1
        for entity in live:
            if entity.entity_type == "dataset" and entity.urn in self.placed:
                for upstream in entity.upstreams:
                    supplier = self._resolve(upstream)
                    if supplier is not None and (upstream, entity.urn) not in explained:
                        self._flow(supplier, self.placed[entity.urn].element)
        return self.counts

    # --- placing one entity -------------------------------------------------------------------------------
    def _container(self, entity: Entity) -> None:
        sub_type = (entity.sub_types or [""])[0].lower()
        type_name = self._declared(entity, ("DataAsset",)) or _CONTAINER_TYPES.get(sub_type)
        if type_name is None or not self.context.is_type_of(type_name, "DataAsset"):
            self.counts.skipped += 1
            return
        placed = self._upsert_asset(entity, type_name)
        parent = self.placed.get(entity.container or "")
        if placed is None or not placed.owned or parent is None:
            return
        if self.context.is_type_of(type_name, "DeployedDatabaseSchema"):
            self.context.setup_data_content_for_data_set(parent.element.guid, placed.element.guid)
        elif self.context.is_type_of(type_name, "FileFolder") and parent.element.type_name == "FileFolder":
            self.context.setup_folder_hierarchy(parent.element.guid, placed.element.guid)

    def _dataset(self, entity: Entity) -> None:
        parent = self.placed.get(entity.container or "")
        in_schema = parent is not None and self.context.is_type_of(parent.element.type_name, "DeployedDatabaseSchema")
        type_name = self._declared(entity, ("DataAsset", "RelationalTable")) or self._dataset_type(
            entity, in_schema=in_schema
        )
        if self.context.is_type_of(type_name, "RelationalTable"):
            if parent is None or not in_schema:  # a table outside a schema is a data set with columns
                type_name = "DataSet"
            else:
                self._table(entity, type_name, parent)
                return
        placed = self._upsert_asset(entity, type_name)
        if placed is None or not placed.owned:
            return
        if (
            parent is not None
            and self.context.is_type_of(type_name, "DataFile")
            and parent.element.type_name == "FileFolder"
        ):
            self.context.setup_nested_file(parent.element.guid, placed.element.guid)
        if entity.columns:
            upserts = [
                self._column_upsert(placed.element, column, position, "TabularColumn")
                for position, column in enumerate(entity.columns, start=1)
            ]
            self._count_all(self.context.upsert_data_set_columns(upserts, parent_guid=placed.element.guid))

    def _dataset_type(self, entity: Entity, *, in_schema: bool) -> str:
        subs = {s.lower() for s in entity.sub_types}
        if in_schema and "view" in subs:
            return "RelationalView"
        if in_schema and (not subs or subs & {"table", "base table"}):
            return "RelationalTable"
        if entity.platform in _FILE_PLATFORMS or "file" in subs:
            return "DataFile"
        if entity.platform == "kafka" or "topic" in subs:
            return "KafkaTopic"
        return "DataSet"

    def _table(self, entity: Entity, type_name: str, schema: _Placed) -> None:
        found, known = self._existing(entity)
        if found is not None and found.metadata_collection != self.mine:
            self._link(entity, found, owned=False, known=known)
            return
        qualified_name = found.qualified_name if found is not None else self._qualified_name(entity)
        properties = self._properties(entity, type_name)
        if entity.view_logic is not None and self.context.is_type_of(type_name, "RelationalView"):
            properties["formula"] = entity.view_logic
        ((guid, change),) = self.context.upsert_database_tables(
            [ElementUpsert(qualified_name, properties, found.type_name if found else type_name)],
            parent_guid=schema.element.guid,
        )
        self.counts.count(change)
        table = self.context.get_catalog_element_by_qualified_name(qualified_name)
        assert table is not None
        self._link(entity, table, owned=True, known=known)
        upserts = [
            self._column_upsert(table, column, position, "RelationalColumn")
            for position, column in enumerate(entity.columns or [], start=1)
        ]
        if upserts:
            self._count_all(self.context.upsert_database_columns(upserts, parent_guid=guid))

    def _process(self, entity: Entity) -> None:
        """The job as a Process with DataFlows from its inputs and to its outputs. A process this connector owns
        loses the DataFlows the job no longer has (it stopped reading a table); another source's keeps its own."""
        placed = self._upsert_asset(entity, self._declared(entity, ("Process",)) or "Process", process=True)
        if placed is None:
            return
        process = placed.element
        inputs = [s for s in map(self._resolve, entity.inputs) if s is not None]
        outputs = [c for c in map(self._resolve, entity.outputs) if c is not None]
        for supplier in inputs:
            self._flow(supplier, process)
        for consumer in outputs:
            self._flow(process, consumer)
        if not placed.owned:
            return
        wanted_inputs, wanted_outputs = {s.guid for s in inputs}, {c.guid for c in outputs}
        for supplier in self.context.get_data_flow_suppliers(process.guid):
            if supplier.guid not in wanted_inputs:
                self.context.clear_data_flow(supplier.guid, process.guid)
        for consumer in self.context.get_data_flow_consumers(process.guid):
            if consumer.guid not in wanted_outputs:
                self.context.clear_data_flow(process.guid, consumer.guid)

    def _upsert_asset(self, entity: Entity, type_name: str, *, process: bool = False) -> _Placed | None:
        found, known = self._existing(entity)
        if found is not None and found.metadata_collection != self.mine:
            return self._link(entity, found, owned=False, known=known)
        qualified_name = found.qualified_name if found is not None else self._qualified_name(entity)
        type_name = found.type_name if found is not None else type_name
        upsert = self.context.upsert_process if process else self.context.upsert_data_asset
        element, change = upsert(qualified_name, self._properties(entity, type_name), type_name=type_name)
        self.counts.count(change)
        return self._link(entity, element, owned=True, known=known)

    def _flow(self, supplier: Element, consumer: Element) -> None:
        """A DataFlow from supplier to consumer, unless one is there already (perhaps another source's)."""
        if all(known.guid != consumer.guid for known in self.context.get_data_flow_consumers(supplier.guid)):
            self.context.setup_data_flow(supplier.guid, consumer.guid)

    # --- helpers ------------------------------------------------------------------------------------------
    def _existing(self, entity: Entity) -> tuple[Element | None, bool]:
        """The element the entity is (if any), and whether it is linked to the entity's URN already."""
        linked = self.context.get_elements_for_external_identifier(entity.urn)
        if linked:
            return linked[0], True
        return self.context.get_catalog_element_by_qualified_name(self._qualified_name(entity)), False

    def _link(self, entity: Entity, element: Element, *, owned: bool, known: bool) -> _Placed:
        if not known:
            self.context.add_external_identifier(
                element.guid, entity.urn, mapping_properties={"entityType": entity.entity_type}
            )
        if not owned:
            self.counts.linked += 1
        placed = self.placed[entity.urn] = _Placed(element, owned)
        return placed

    def _resolve(self, urn: str) -> Element | None:
        placed = self.placed.get(urn)
        if placed is not None:
            return placed.element
        linked = self.context.get_elements_for_external_identifier(urn)
        return linked[0] if linked else None

    def _declared(self, entity: Entity, supertypes: tuple[str, ...]) -> str | None:
        """The type `metaferry.typeName` names, when it is one of this connector's kinds of element."""
        declared = entity.type_name
        if declared is None or declared not in self.context.types.element_type_names:
            return None
        return declared if any(self.context.is_type_of(declared, s) for s in supertypes) else None

    @staticmethod
    def _qualified_name(entity: Entity) -> str:
        return entity.qualified_name or entity.urn

    def _properties(self, entity: Entity, type_name: str) -> dict[str, Any]:
        allowed = self.context.types.allowed_properties(type_name)
        properties: dict[str, Any] = {}
        extra: dict[str, str] = {}
        for key, text in entity.custom_properties.items():
            definition = allowed.get(key)
            value = _decode(text, definition.kind.value) if definition is not None else None
            if value is None:
                if not key.startswith("metaferry."):
                    extra[key] = text
            else:
                properties[key] = value
        if extra:
            properties["additionalProperties"] = {**properties.get("additionalProperties", {}), **extra}
        if entity.name:
            properties["name"] = entity.name
        if entity.description:
            properties["description"] = entity.description
        return properties

    def _column_upsert(self, parent: Element, column: Column, position: int, type_name: str) -> ElementUpsert:
        properties: dict[str, Any] = {
            "name": column.name,
            "dataType": column.data_type,
            "isNullable": column.nullable,
            "position": position,
        }
        if column.description:
            properties["description"] = column.description
        classifications: dict[str, dict[str, Any]] | None = (
            {"PrimaryKey": {}} if column.is_primary_key and type_name == "RelationalColumn" else None
        )
        return ElementUpsert(f"{parent.qualified_name}#{column.name}", properties, type_name, classifications)

    def _count_all(self, results: list[tuple[str, ChangeKind]]) -> None:
        for _, change in results:
            self.counts.count(change)

    @staticmethod
    def _depth(entity: Entity, by_urn: Mapping[str, Entity]) -> int:
        depth, seen, parent = 0, {entity.urn}, entity.container
        while parent is not None and parent in by_urn and parent not in seen:
            seen.add(parent)
            depth += 1
            parent = by_urn[parent].container
        return depth


def _decode(text: str, kind: str) -> Any:
    """A custom property's text as a value of the property's kind (a PropertyKind's value), or None when it is not
    one: text kinds as they are, the others from their JSON."""
    if kind in ("string", "datetime"):
        return text
    try:
        value = json.loads(text)
    except ValueError:
        return None
    checks: dict[str, Callable[[Any], bool]] = {
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "string_list": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
        "string_map": lambda v: isinstance(v, dict) and all(isinstance(x, str) for x in v.values()),
        "any_map": lambda v: isinstance(v, dict),
    }
    check = checks.get(kind)
    return value if check is not None and check(value) else None


def import_entities(context: CatalogIntegratorContext, entities: list[Entity]) -> ImportCounts:
    """Write the entities to the repository (in the refresh's transaction); returns what happened."""
    return Importer(context).run(entities)
