"""Export: the repository's assets as DataHub entities (`entities.Entity`), read through the catalog context.

Databases, schemas and folders become containers; tables, views, files, topics and other data sets become
datasets (with `schemaMetadata` from their columns); processes become data jobs of a data flow, with their
inputs and outputs, and each dataset a process writes gets `upstreamLineage` from what the process reads
(a DataFlow straight from one data set to another gives the same). Everything is read in the refresh's
transaction, so the file is one consistent view. The output is sorted, so an unchanged repository gives
the same file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from metaferry_runtime.connectors.catalog_exchange import urns
from metaferry_runtime.connectors.catalog_exchange.entities import Column, Entity, encode_property
from metaferry_runtime.sdk import Element
from metaferry_runtime.sdk.contexts.catalog import CatalogIntegratorContext

PAGE = 1_000
#: Properties with a DataHub field of their own (or none to carry), never sent as custom properties.
_NATIVE = frozenset({"qualifiedName", "name", "description"})
#: An open metadata column's dataType (lower case, before any "(") -> DataHub's field type class.
_TYPE_CLASSES = {
    **dict.fromkeys(
        (
            "smallint",
            "integer",
            "int",
            "int2",
            "int4",
            "int8",
            "bigint",
            "numeric",
            "decimal",
            "real",
            "float",
            "float4",
            "float8",
            "double precision",
            "double",
            "serial",
            "bigserial",
            "money",
            "number",
        ),
        "NumberType",
    ),
    **dict.fromkeys(("boolean", "bool"), "BooleanType"),
    **dict.fromkeys(("date",), "DateType"),
    **dict.fromkeys(
        ("timestamp", "timestamp without time zone", "timestamp with time zone", "timestamptz", "datetime"),
        "TimeType",
    ),
    **dict.fromkeys(("time", "time without time zone", "time with time zone"), "TimeType"),
    **dict.fromkeys(("bytea", "blob", "binary", "varbinary"), "BytesType"),
    **dict.fromkeys(("json", "jsonb"), "RecordType"),
    **dict.fromkeys(
        ("text", "character varying", "varchar", "character", "char", "uuid", "string", "name"), "StringType"
    ),
}


def type_class(data_type: str) -> str:
    """DataHub's field type class for an open metadata column data type (`NullType` when unknown)."""
    base = data_type.lower().split("(", 1)[0].strip()
    if base.endswith("[]"):
        return "ArrayType"
    return _TYPE_CLASSES.get(base, "NullType")


def _all(find: Callable[..., list[Element]]) -> Iterator[Element]:
    start = 0
    while True:
        page = find(None, start, PAGE)
        yield from page
        if len(page) < PAGE:
            return
        start += PAGE


class Exporter:
    """Reads the repository into entities; `skip_collection` leaves out what that metadata source owns."""

    def __init__(self, context: CatalogIntegratorContext, *, env: str, skip_collection: str | None) -> None:
        self.context = context
        self.env = env
        self.skip = skip_collection
        self.entities: dict[str, Entity] = {}
        self.urn_of: dict[str, str] = {}  # element GUID -> URN

    def read(self) -> list[Entity]:
        context = self.context
        assets = [a for a in _all(context.find_data_assets) if a.metadata_collection != self.skip]
        by_type: dict[str, list[Element]] = {}
        for asset in assets:
            by_type.setdefault(self._kind(asset), []).append(asset)
        for database in by_type.get("database", []):
            self._container(database, self._database_key(database), "Database")
        for schema in by_type.get("schema", []):
            self._schema(schema)
        for folder in sorted(by_type.get("folder", []), key=lambda f: f.qualified_name):
            self._folder(folder)
        for asset in by_type.get("dataset", []):
            self._dataset(asset, sub_types=self._sub_types(asset), columns=self._tabular_columns(asset))
        processes = [p for p in _all(context.find_processes) if p.metadata_collection != self.skip]
        for process in processes:
            self._process(process)
        self._direct_lineage(assets)
        order = {"container": 0, "dataset": 1, "dataFlow": 2, "dataJob": 3}
        return sorted(self.entities.values(), key=lambda e: (order[e.entity_type], e.urn))

    # --- kinds of element ---------------------------------------------------------------------------------
    def _kind(self, element: Element) -> str:
        is_type = self.context.is_type_of
        if is_type(element.type_name, "Database"):
            return "database"
        if is_type(element.type_name, "DeployedDatabaseSchema"):
            return "schema"
        if is_type(element.type_name, "FileFolder"):
            return "folder"
        return "dataset"

    def _sub_types(self, element: Element) -> list[str]:
        if self.context.is_type_of(element.type_name, "DataFile"):
            return ["File"]
        if self.context.is_type_of(element.type_name, "Topic"):
            return ["Topic"]
        return []

    # --- containers ---------------------------------------------------------------------------------------
    def _database_key(self, database: Element) -> dict[str, str]:
        name = urns.dataset_name(database.qualified_name)
        return {"platform": name.platform, "instance": self.env, "database": name.name}

    def _container(self, element: Element, key: dict[str, str], sub_type: str, parent: str | None = None) -> str:
        urn = urns.container_urn(key)
        name = urns.dataset_name(element.qualified_name)
        self._add(
            element,
            Entity(urn=urn, entity_type="container", platform=key["platform"], sub_types=[sub_type], container=parent),
            name,
        )
        return urn

    def _schema(self, schema: Element) -> None:
        databases = [d for d in self.context.get_stores_of_data_set(schema.guid) if d.guid in self.urn_of]
        name = urns.dataset_name(schema.qualified_name)
        parent = None
        key = {"platform": name.platform, "instance": self.env, "schema": name.name}
        if databases:
            database_key = self._database_key(databases[0])
            short = name.name.removeprefix(database_key["database"]).lstrip("./")
            key = {**database_key, "schema": short}
            parent = self.urn_of[databases[0].guid]
        schema_urn = self._container(schema, key, "Schema", parent)
        for table in self.context.get_tables_for_database_schema(schema.guid):
            view = self.context.is_type_of(table.type_name, "RelationalView")
            columns = [self._column(c) for c in self._sorted(self.context.get_columns_for_database_table(table.guid))]
            logic = table.properties.get("formula") if view else None
            self._dataset(
                table,
                sub_types=["View" if view else "Table"],
                columns=columns,
                container=schema_urn,
                view_logic=str(logic) if logic is not None else "" if view else None,
            )

    def _folder(self, folder: Element) -> None:
        parents = [p for p in self.context.get_parent_folders(folder.guid) if p.guid in self.urn_of]
        name = urns.dataset_name(folder.qualified_name)
        parent = self.urn_of[parents[0].guid] if parents else None
        self._container(folder, {"platform": name.platform, "folder_abs_path": name.name}, "Folder", parent)

    # --- datasets -----------------------------------------------------------------------------------------
    def _dataset(
        self,
        element: Element,
        *,
        sub_types: list[str],
        columns: list[Column] | None,
        container: str | None = None,
        view_logic: str | None = None,
    ) -> None:
        name = urns.dataset_name(element.qualified_name)
        if container is None and self.context.is_type_of(element.type_name, "DataFile"):
            folders = [f for f in self.context.get_folders_of_file(element.guid) if f.guid in self.urn_of]
            container = self.urn_of[folders[0].guid] if folders else None
        entity = Entity(
            urn=urns.dataset_urn(name.platform, name.name, self.env),
            entity_type="dataset",
            platform=name.platform,
            sub_types=sub_types,
            container=container,
            columns=columns,
            view_logic=view_logic,
        )
        self._add(element, entity, name, skip={"formula"} if view_logic is not None else frozenset())

    def _tabular_columns(self, element: Element) -> list[Column] | None:
        columns = self.context.get_data_set_columns(element.guid)
        return [self._column(c) for c in self._sorted(columns)] if columns else None

    @staticmethod
    def _sorted(columns: list[Element]) -> list[Element]:
        return sorted(columns, key=lambda c: (c.properties.get("position") or 0, c.qualified_name))

    @staticmethod
    def _column(column: Element) -> Column:
        shown = column.effective_properties
        data_type = str(shown.get("dataType") or "")
        return Column(
            name=str(shown.get("name") or column.qualified_name.rpartition("#")[2]),
            data_type=data_type,
            type_class=type_class(data_type),
            nullable=bool(shown.get("isNullable", True)),
            description=shown.get("description"),
            is_primary_key=column.classification("PrimaryKey") is not None,
        )

    def _add(
        self, element: Element, entity: Entity, name: urns.DatasetName, skip: frozenset[str] | set[str] = frozenset()
    ) -> None:
        shown = element.effective_properties
        custom: dict[str, str] = {}
        for key, value in shown.items():
            if key in _NATIVE or key in skip or value is None:
                continue
            if key == "additionalProperties" and isinstance(value, dict):
                continue  # each of its entries is a custom property of its own (below); import puts them back
            custom[key] = encode_property(value)
        for key, value in (shown.get("additionalProperties") or {}).items():
            custom.setdefault(str(key), str(value))
        if name.authority:
            custom.setdefault("metaferry.server", name.authority)
        entity.name = str(shown.get("name") or shown.get("displayName") or name.name.rsplit("/", 1)[-1] or name.name)
        entity.description = shown.get("description")
        entity.qualified_name = element.qualified_name
        entity.type_name = element.type_name
        entity.custom_properties = custom
        self.entities[entity.urn] = entity
        self.urn_of[element.guid] = entity.urn

    # --- lineage ------------------------------------------------------------------------------------------
    def _process(self, process: Element) -> None:
        flow_urn, job_urn = urns.process_job(process.qualified_name, self.env)
        flow_name = flow_urn.split(",")[1] if "," in flow_urn else flow_urn
        if flow_urn not in self.entities:
            self.entities[flow_urn] = Entity(urn=flow_urn, entity_type="dataFlow", name=flow_name)
        inputs = self._datasets(self.context.get_data_flow_suppliers(process.guid))
        outputs = self._datasets(self.context.get_data_flow_consumers(process.guid))
        entity = Entity(urn=job_urn, entity_type="dataJob", inputs=inputs, outputs=outputs)
        self._add(process, entity, urns.DatasetName(urns.FALLBACK_PLATFORM, job_urn.rsplit(",", 1)[-1][:-1]))
        for output in outputs:
            target = self.entities[output]
            target.upstreams = sorted({*target.upstreams, *inputs})

    def _datasets(self, elements: list[Element]) -> list[str]:
        """The URNs of the exported datasets among the elements (DataHub's lineage links datasets only)."""
        found = (self.urn_of.get(element.guid) for element in elements)
        return sorted(urn for urn in found if urn is not None and self.entities[urn].entity_type == "dataset")

    def _direct_lineage(self, assets: list[Element]) -> None:
        for asset in assets:
            urn = self.urn_of.get(asset.guid)
            if urn is None or self.entities[urn].entity_type != "dataset":
                continue
            suppliers = self._datasets(self.context.get_data_flow_suppliers(asset.guid))
            if suppliers:
                self.entities[urn].upstreams = sorted({*self.entities[urn].upstreams, *suppliers})


def read_entities(context: CatalogIntegratorContext, *, env: str, skip_collection: str | None) -> list[Entity]:
    """The repository's assets as DataHub entities, in a stable order."""
    return Exporter(context, env=env, skip_collection=skip_collection).read()
