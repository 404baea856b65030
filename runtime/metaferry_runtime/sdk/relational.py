"""Relational catalogues: what a database connector reads, and one way to write it into the repository.

A database connector (PostgreSQL, SQLite, or an author's own) reads its server's catalogue into a
`DatabaseDefinition` (schemas, tables, views, columns, keys) and hands it to `catalog_database`, which
keeps the repository in step in Egeria's shape (see `contexts/database.py`):

- every table's definition (its properties, columns, primary key and foreign keys) has a digest, kept in
  the table element's `additionalProperties["definitionDigest"]`. A table whose digest is unchanged is
  not touched at all: its elements are only marked observed (one call for the whole catalogue), so a
  refresh of an unchanged 1,000-table schema writes no element, bumps no version and emits no event;
- a changed or new table is upserted with its columns (one bulk call per table), its primary-key
  classifications set and cleared, and its foreign keys linked and unlinked;
- what disappeared (tables, views, columns, schemas) is archived by deletion detection, under the
  database's qualified name, through the resource's fail-safe.

Qualified names come from a `RelationalNames`; the built-in ones (`dotted_names`, `path_names`) follow the
dataset naming of OpenLineage (`postgres://host:port/db.schema.table`), so lineage events and the database
catalogue meet on the same element. A column is `<table qualified name>#<column name>`.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import Field

from metaferry_runtime.repository import ChangeKind
from metaferry_runtime.sdk.configuration import ConnectorConfiguration
from metaferry_runtime.sdk.contexts._elements import ElementUpsert
from metaferry_runtime.sdk.contexts.database import DatabaseIntegratorContext

#: The additionalProperties key that holds a table's definition digest.
DIGEST_PROPERTY = "definitionDigest"
#: Element types deletion detection considers, under the database's qualified name.
CATALOGUED_TYPES = ("DeployedDatabaseSchema", "RelationalTable", "RelationalColumn")
#: Egeria's KeyPattern for a key the database allocates and uses itself.
LOCAL_KEY = "LOCAL_KEY"


class TableKind(enum.StrEnum):
    """What kind of relation a table is; catalogued in the element's `tableType`."""

    TABLE = "TABLE"
    VIEW = "VIEW"
    MATERIALIZED_VIEW = "MATERIALIZED VIEW"
    PARTITIONED_TABLE = "PARTITIONED TABLE"
    PARTITION = "PARTITION"
    FOREIGN_TABLE = "FOREIGN TABLE"

    @property
    def is_view(self) -> bool:
        """Views and materialized views are RelationalViews (their defining query in `formula`)."""
        return self in (TableKind.VIEW, TableKind.MATERIALIZED_VIEW)


#: Part of every digest: raise it when what a digest covers changes meaning.
DIGEST_VERSION = 1


@dataclass(frozen=True)
class ColumnDefinition:
    name: str
    position: int
    data_type: str
    is_nullable: bool = True
    default: str | None = None
    description: str | None = None
    length: int | None = None
    precision: int | None = None

    def facts(self) -> tuple[object, ...]:
        """What the table's digest covers of the column."""
        return (
            self.name,
            self.position,
            self.data_type,
            self.is_nullable,
            self.default,
            self.description,
            self.length,
            self.precision,
        )


@dataclass(frozen=True)
class ForeignKeyDefinition:
    """A foreign key: `columns` of this table reference `referenced_columns` of another (any schema)."""

    name: str
    columns: tuple[str, ...]
    referenced_schema: str
    referenced_table: str
    referenced_columns: tuple[str, ...]


@dataclass(frozen=True)
class TableDefinition:
    schema: str
    name: str
    kind: TableKind = TableKind.TABLE
    columns: tuple[ColumnDefinition, ...] = ()
    description: str | None = None
    formula: str | None = None
    primary_key_name: str | None = None
    primary_key: tuple[str, ...] = ()
    foreign_keys: tuple[ForeignKeyDefinition, ...] = ()
    #: Further facts kept in additionalProperties (owner, partitionOf...): strings only, as Egeria's map.
    extra: dict[str, str] = field(default_factory=dict)

    def digest(self, catalogued_schemas: frozenset[str] = frozenset()) -> str:
        """A digest of everything the catalogue holds about the table, stable across processes. Which of
        its foreign keys point into catalogued schemas is part of it: a key to a schema catalogued later
        can only be linked then, so the table must be catalogued again then."""
        # Plain tuples in field order: dataclasses.asdict's deep copy cost more than the rest of a no-change
        # refresh. Adding a field to a definition changes every digest once, which is what it must do.
        facts = (
            DIGEST_VERSION,
            self.schema,
            self.name,
            self.kind.value,
            [column.facts() for column in self.columns],
            self.description,
            self.formula,
            self.primary_key_name,
            self.primary_key,
            [
                (k.name, k.columns, k.referenced_schema, k.referenced_table, k.referenced_columns)
                for k in self.foreign_keys
            ],
            sorted(self.extra.items()),
            [key.referenced_schema in catalogued_schemas for key in self.foreign_keys],
        )
        text = json.dumps(facts, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class SchemaDefinition:
    name: str
    description: str | None = None
    owner: str | None = None


@dataclass(frozen=True)
class DatabaseDefinition:
    """One database's catalogue, as read in one consistent snapshot."""

    name: str
    database_type: str
    version: str
    instance: str
    schemas: tuple[SchemaDefinition, ...]
    tables: tuple[TableDefinition, ...]
    description: str | None = None
    deployed_implementation_type: str | None = None


class RelationalNames(Protocol):
    """The qualified names of a database's elements."""

    def database(self) -> str: ...
    def schema(self, schema: str) -> str: ...
    def table(self, schema: str, table: str) -> str: ...

    @property
    def scope_prefix(self) -> str:
        """A prefix every schema, table and column name of the database starts with (deletion detection)."""
        ...


def column_qualified_name(table_qualified_name: str, column: str) -> str:
    return f"{table_qualified_name}#{column}"


@dataclass(frozen=True)
class SeparatedNames:
    """The database's name, then schema and table each after a separator."""

    database_name: str
    separator: str

    def database(self) -> str:
        return self.database_name

    def schema(self, schema: str) -> str:
        return f"{self.database_name}{self.separator}{schema}"

    def table(self, schema: str, table: str) -> str:
        return f"{self.database_name}{self.separator}{schema}{self.separator}{table}"

    @property
    def scope_prefix(self) -> str:
        return self.database_name + self.separator


def dotted_names(scheme: str, authority: str, database: str) -> SeparatedNames:
    """`<scheme>://<authority>/<db>.schema.table`: OpenLineage's naming for PostgreSQL and peers."""
    return SeparatedNames(f"{scheme}://{authority}/{database}", ".")


def path_names(scheme: str, path: str) -> SeparatedNames:
    """`<scheme>://<absolute path>/schema/table`: for a database that is a file."""
    return SeparatedNames(f"{scheme}://{path}", "/")


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


class TableFilters(ConnectorConfiguration):
    """Which tables to read: a connector's settings, and a schema target's own (its `catalog_target_model`)."""

    include_tables: tuple[re.Pattern[str], ...] = Field(
        default=(), description="regular expressions; a table is read when one matches its name or schema.table"
    )
    exclude_tables: tuple[re.Pattern[str], ...] = Field(
        default=(), description="regular expressions; a table matching one (name or schema.table) is left out"
    )

    def wants(self, schema: str, table: str) -> bool:
        """Whether to catalogue the table: patterns match the whole table name or `schema.table`."""
        names = (table, f"{schema}.{table}")
        if self.include_tables and not any(p.fullmatch(n) for p in self.include_tables for n in names):
            return False
        return not any(p.fullmatch(n) for p in self.exclude_tables for n in names)

    def over(self, base: TableFilters) -> TableFilters:
        """These filters where set, `base`'s elsewhere: a target's includeTables replaces the connector's
        includeTables for that target and leaves its excludeTables in force."""
        inherited = {
            name: getattr(base, name) for name in TableFilters.model_fields if name not in self.model_fields_set
        }
        return TableFilters.model_validate({**self.model_dump(include=set(TableFilters.model_fields)), **inherited})


class RelationalSettings(TableFilters):
    """Configuration properties every database connector takes; a connector subclasses it for its own
    and names it as its `configuration_model`."""


__all__ = [
    "CATALOGUED_TYPES",
    "DIGEST_PROPERTY",
    "CatalogueOutcome",
    "ColumnDefinition",
    "DatabaseDefinition",
    "ForeignKeyDefinition",
    "RelationalNames",
    "RelationalSettings",
    "SchemaDefinition",
    "SeparatedNames",
    "TableDefinition",
    "TableFilters",
    "TableKind",
    "catalog_database",
    "column_qualified_name",
    "dotted_names",
    "path_names",
]
