"""Qualified names of a relational catalogue: the OpenLineage dataset naming (`postgres://host:port/db.schema.table`),
so lineage events and the database catalogue meet on the same element."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


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
