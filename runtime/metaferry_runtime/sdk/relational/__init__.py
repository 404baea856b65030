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

from metaferry_runtime.sdk.relational.catalogue import CatalogueOutcome, catalog_database
from metaferry_runtime.sdk.relational.model import (
    CATALOGUED_TYPES,
    DIGEST_PROPERTY,
    ColumnDefinition,
    DatabaseDefinition,
    ForeignKeyDefinition,
    SchemaDefinition,
    TableDefinition,
    TableKind,
)
from metaferry_runtime.sdk.relational.names import (
    RelationalNames,
    SeparatedNames,
    column_qualified_name,
    dotted_names,
    path_names,
)
from metaferry_runtime.sdk.relational.settings import RelationalSettings, TableFilters

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
