"""What a database connector reads: the catalogue of a database as plain definitions, each table with a
digest of its definition (so an unchanged table is recognised without comparing its elements)."""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import dataclass, field

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
