"""`catalog_database`: keep the repository in step with a `DatabaseDefinition`, skipping unchanged tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from metaferry_runtime.repository import ChangeKind
from metaferry_runtime.sdk.contexts._elements import ElementUpsert
from metaferry_runtime.sdk.contexts.database import DatabaseIntegratorContext
from metaferry_runtime.sdk.relational.model import (
    CATALOGUED_TYPES,
    DIGEST_PROPERTY,
    LOCAL_KEY,
    ColumnDefinition,
    DatabaseDefinition,
    SchemaDefinition,
    TableDefinition,
)
from metaferry_runtime.sdk.relational.names import RelationalNames, column_qualified_name


@dataclass
class CatalogueOutcome:
    """What `catalog_database` did, for the connector's audit messages and tests."""

    tables: int = 0
    unchanged_tables: int = 0
    changed_tables: list[str] = field(default_factory=list)
    columns: int = 0
    foreign_keys: int = 0
    unresolved_foreign_keys: list[str] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)


def catalog_database(
    context: DatabaseIntegratorContext, definition: DatabaseDefinition, names: RelationalNames
) -> CatalogueOutcome:
    """Bring the repository in step with `definition`, in the caller's transaction (the refresh's)."""
    return _Cataloguer(context, definition, names).run()


class _Cataloguer:
    def __init__(self, context: DatabaseIntegratorContext, definition: DatabaseDefinition, names: RelationalNames):
        self.context = context
        self.definition = definition
        self.names = names
        self.outcome = CatalogueOutcome()
        self.column_guids: dict[str, str] = {}
        self.created_columns: set[str] = set()

    def run(self) -> CatalogueOutcome:
        context, definition, names = self.context, self.definition, self.names
        database, _ = context.upsert_database(names.database(), _database_properties(definition))
        schema_upserts = [ElementUpsert(names.schema(s.name), _schema_properties(s)) for s in definition.schemas]
        schema_results = context.upsert_database_schemas(schema_upserts, parent_guid=database.guid)
        schema_guids = {s.name: guid for s, (guid, _) in zip(definition.schemas, schema_results, strict=True)}

        held = self._held_digests()
        catalogued_schemas = frozenset(schema_guids)
        changed: list[tuple[str, TableDefinition, str]] = []
        unchanged_names: list[str] = []
        unchanged_tables: dict[str, tuple[str, TableDefinition, str]] = {}
        for table in definition.tables:
            qualified_name = names.table(table.schema, table.name)
            digest = table.digest(catalogued_schemas)
            if held.get(qualified_name) == digest:
                unchanged_tables[qualified_name] = (qualified_name, table, digest)
                unchanged_names.append(qualified_name)
                unchanged_names.extend(column_qualified_name(qualified_name, c.name) for c in table.columns)
            else:
                changed.append((qualified_name, table, digest))
        if unchanged_names:
            missing = context.mark_observed_by_names(unchanged_names)
            # An element someone removed below an unchanged table: catalogue that table again, whole.
            for qualified_name in {name.partition("#")[0] for name in missing}:
                if qualified_name in unchanged_tables:
                    changed.append(unchanged_tables.pop(qualified_name))

        self.outcome.tables = len(definition.tables)
        self.outcome.unchanged_tables = len(unchanged_tables)
        self.outcome.columns = sum(len(t.columns) for t in definition.tables)
        table_guids = self._catalog_tables(changed, schema_guids)
        for qualified_name, table, _ in changed:
            self._catalog_columns(qualified_name, table, table_guids[qualified_name])
        for qualified_name, table, _ in changed:
            self._link_foreign_keys(qualified_name, table)
        self.outcome.changed_tables = [qualified_name for qualified_name, _, _ in changed]
        archived = context.detect_deletions(type_names=CATALOGUED_TYPES, scope_prefix=names.scope_prefix)
        self.outcome.archived = [element.qualified_name for element in archived]
        return self.outcome

    def _held_digests(self) -> dict[str, str]:
        """Qualified name -> definition digest of every active table this connector holds."""
        held: dict[str, str] = {}
        start = 0
        page_size = 5_000
        prefix = self.names.scope_prefix
        while True:
            page = self.context.get_my_database_tables(start, page_size)
            for element in page:
                if element.qualified_name.startswith(prefix):
                    digest = (element.properties.get("additionalProperties") or {}).get(DIGEST_PROPERTY)
                    if digest is not None:
                        held[element.qualified_name] = digest
            if len(page) < page_size:
                return held
            start += page_size

    def _catalog_tables(
        self, changed: list[tuple[str, TableDefinition, str]], schema_guids: dict[str, str]
    ) -> dict[str, str]:
        """Upsert the changed tables and views, one call per schema (each call links its tables to the
        schema's RelationalDBSchemaType once); returns their GUIDs by qualified name."""
        by_schema: dict[str, list[tuple[str, TableDefinition, str]]] = {}
        for item in changed:
            by_schema.setdefault(item[1].schema, []).append(item)
        guids: dict[str, str] = {}
        for schema, items in by_schema.items():
            upserts = [
                ElementUpsert(
                    qualified_name,
                    _table_properties(table, digest),
                    "RelationalView" if table.kind.is_view else "RelationalTable",
                )
                for qualified_name, table, digest in items
            ]
            results = self.context.upsert_database_tables(upserts, parent_guid=schema_guids[schema])
            for (qualified_name, _, _), (guid, _) in zip(items, results, strict=True):
                guids[qualified_name] = guid
        return guids

    def _catalog_columns(self, qualified_name: str, table: TableDefinition, table_guid: str) -> None:
        """Upsert the table's columns in one call, new key columns created with their PrimaryKey."""
        context = self.context
        key = set(table.primary_key)
        primary_key = {"name": table.primary_key_name, "keyPattern": LOCAL_KEY}
        upserts = [
            ElementUpsert(
                column_qualified_name(qualified_name, column.name),
                _column_properties(column),
                classifications={"PrimaryKey": primary_key} if column.name in key else None,
            )
            for column in table.columns
        ]
        results = context.upsert_database_columns(upserts, parent_guid=table_guid)
        for column, (guid, change) in zip(table.columns, results, strict=True):
            self.column_guids[column_qualified_name(qualified_name, column.name)] = guid
            if change is ChangeKind.ELEMENT_CREATED:
                self.created_columns.add(guid)  # created with its classification, and with no links yet
            elif column.name in key:
                context.set_primary_key_on_column(guid, primary_key)
            else:
                context.remove_primary_key_from_column(guid)

    def _link_foreign_keys(self, qualified_name: str, table: TableDefinition) -> None:
        """Link each foreign-key column (end 2) to the column it references (end 1); unlink stale links."""
        context = self.context
        wanted: dict[str, set[str]] = {}
        for key in table.foreign_keys:
            target_table = self.names.table(key.referenced_schema, key.referenced_table)
            for column_name, referenced_name in zip(key.columns, key.referenced_columns, strict=True):
                source = self.column_guids[column_qualified_name(qualified_name, column_name)]
                target = self._column_guid(column_qualified_name(target_table, referenced_name))
                if target is None:
                    unresolved = f"{qualified_name}.{key.name}"
                    if unresolved not in self.outcome.unresolved_foreign_keys:
                        self.outcome.unresolved_foreign_keys.append(unresolved)
                    continue
                wanted.setdefault(source, set()).add(target)
                context.add_foreign_key_relationship(target, source, {"name": key.name, "source": "database"})
                self.outcome.foreign_keys += 1
        for column in table.columns:
            source = self.column_guids[column_qualified_name(qualified_name, column.name)]
            if source in self.created_columns:
                continue  # a column created by this refresh has only the links it was just given
            for linked in context.get_primary_key_columns(source):
                if linked.guid not in wanted.get(source, set()):
                    context.remove_foreign_key_relationship(linked.guid, source)

    def _column_guid(self, qualified_name: str) -> str | None:
        guid = self.column_guids.get(qualified_name)
        if guid is None:
            element = self.context.get_database_column_by_qualified_name(qualified_name)
            if element is not None:
                guid = self.column_guids[qualified_name] = element.guid
        return guid


def _present(properties: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in properties.items() if value is not None}


def _database_properties(definition: DatabaseDefinition) -> dict[str, Any]:
    return _present(
        {
            "name": definition.name,
            "description": definition.description,
            "databaseType": definition.database_type,
            "databaseVersion": definition.version,
            "databaseInstance": definition.instance,
            "deployedImplementationType": definition.deployed_implementation_type,
        }
    )


def _schema_properties(schema: SchemaDefinition) -> dict[str, Any]:
    return _present({"name": schema.name, "description": schema.description, "owner": schema.owner})


def _table_properties(table: TableDefinition, digest: str) -> dict[str, Any]:
    return _present(
        {
            "name": table.name,
            "description": table.description,
            "tableType": table.kind.value,
            "formula": table.formula if table.kind.is_view else None,
            "additionalProperties": {**table.extra, DIGEST_PROPERTY: digest},
        }
    )


def _column_properties(column: ColumnDefinition) -> dict[str, Any]:
    return _present(
        {
            "name": column.name,
            "position": column.position,
            "dataType": column.data_type,
            "isNullable": column.is_nullable,
            "defaultValue": column.default,
            "description": column.description,
            "length": column.length,
            "precision": column.precision,
        }
    )
