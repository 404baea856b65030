"""The qualified name the database connector gave a dbt relation, by the lineage service's one naming rule.

dbt names a relation `database.schema.identifier`. OpenLineage names the same table by the warehouse's
namespace and `database.schema.table` (`postgres://host:5432` + `shop.public.orders`), which
`dataset_qualified_name` turns into the postgres-schema connector's `postgres://host:5432/shop.public.orders`.
A database that is a file (SQLite, DuckDB) has no database part: its namespace is the file
(`sqlite:///data/shop.db`) and the name `schema/table`, the sqlite-schema connector's
`sqlite:///data/shop.db/main/orders`.
"""

from __future__ import annotations

from collections.abc import Mapping

from metaferry_runtime.connectors.dbt_project.entries import Entry
from metaferry_runtime.sdk.contexts.lineage import dataset_qualified_name

FILE_SCHEMES = ("sqlite:", "duckdb:", "file:")


class WarehouseNames:
    def __init__(self, namespace: str, database_names: Mapping[str, str]) -> None:
        self.namespace = namespace
        self.database_names = dict(database_names)
        self.is_file = namespace.startswith(FILE_SCHEMES)

    def __call__(self, entry: Entry) -> str | None:
        if entry.relation is None or entry.type_name != "DataSet":
            return None
        database, schema, table = entry.relation
        if schema is None:
            return None
        if self.is_file:
            return dataset_qualified_name(self.namespace, f"{schema}/{table}")
        if database is None:
            return None
        return dataset_qualified_name(self.namespace, f"{self.database_names.get(database, database)}.{schema}.{table}")
