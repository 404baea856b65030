"""Which catalogued table a query's SQL names: the data source's database, then the table's qualified name by
the rule the database connectors name theirs (`metaferry_runtime.sdk.relational.names`, as OpenLineage
names data sets):

    postgres://host:port/db.schema.table      postgres-schema (schema `public` when the SQL names none)
    sqlite://<absolute path>/main/table        sqlite-schema

A data source's database comes from the `datasources` property (by uid, then name), else from what Grafana
says of it (`/api/datasources` or its provisioning files: a PostgreSQL data source's `url` and database; a
SQLite one's `path`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from metaferry_runtime.connectors.grafana_dashboards.model import DatasourceRef
from metaferry_runtime.connectors.grafana_dashboards.sql import TableReference
from metaferry_runtime.sdk.relational import dotted_names, path_names

POSTGRES_TYPES = ("postgres", "grafana-postgresql-datasource")
SQLITE_TYPES = ("frser-sqlite-datasource",)
DEFAULT_POSTGRES_PORT = 5432


class Databases:
    """Data source (uid or name) -> the qualified name of the database it reads."""

    def __init__(self, configured: Mapping[str, str]) -> None:
        self._configured = {key: _absolute(value.rstrip("/")) for key, value in configured.items()}
        self._discovered: dict[str, str] = {}
        self._types: dict[str, str] = {}
        self._default: str | None = None  # the uid of Grafana's default data source: what a panel without one uses

    def learn(self, datasources: Iterable[Mapping[str, Any]]) -> None:
        """What Grafana's `/api/datasources` said (replacing what an earlier listing said)."""
        self._discovered, self._types, self._default = {}, {}, None
        for entry in datasources:
            if entry.get("isDefault") is True and isinstance(entry.get("uid"), str):
                self._default = entry["uid"]
            database = _database_of(entry)
            kind = entry.get("type")
            for key in (entry.get("uid"), entry.get("name")):
                if isinstance(key, str) and key:
                    if database is not None:
                        self._discovered[key] = database
                    if isinstance(kind, str):
                        self._types[key] = kind

    def database_of(self, datasource: DatasourceRef | None) -> str | None:
        if not _keys(datasource) and self._default is not None:
            datasource = DatasourceRef(uid=self._default)
        for key in _keys(datasource):
            if key in self._configured:
                return self._configured[key]
        for key in _keys(datasource):
            if key in self._discovered:
                return self._discovered[key]
        return None

    def type_of(self, datasource: DatasourceRef | None) -> str | None:
        if datasource is not None and datasource.type:
            return datasource.type
        if not _keys(datasource) and self._default is not None:
            datasource = DatasourceRef(uid=self._default)
        return next((self._types[key] for key in _keys(datasource) if key in self._types), None)


def table_candidates(database: str, table: TableReference) -> tuple[str, ...]:
    """The qualified names the table may have been catalogued under, most likely first: as written, then
    folded to lower case when it was not quoted (PostgreSQL folds unquoted names; SQLite ignores case)."""
    names = [_table_name(database, table)]
    if not table.quoted:
        folded = TableReference(
            name=table.name.lower(),
            schema=table.schema.lower() if table.schema else None,
            database=table.database.lower() if table.database else None,
        )
        names.append(_table_name(database, folded))
    return tuple(dict.fromkeys(names))


def _table_name(database: str, table: TableReference) -> str:
    """By the database connectors' own naming (`sdk.relational`), so the rule is written once."""
    if database.startswith("sqlite://"):
        return path_names("sqlite", database.removeprefix("sqlite://")).table(table.schema or "main", table.name)
    scheme, _, rest = database.partition("://")
    authority, _, name = rest.partition("/")
    # db.schema.table in the SQL names another database of the same server
    return dotted_names(scheme, authority, table.database or name).table(table.schema or "public", table.name)


def _database_of(entry: Mapping[str, Any]) -> str | None:
    kind = entry.get("type")
    json_data = entry.get("jsonData")
    settings: Mapping[str, Any] = json_data if isinstance(json_data, Mapping) else {}
    if kind in POSTGRES_TYPES:
        database = settings.get("database") or entry.get("database")
        url = entry.get("url")
        if not isinstance(database, str) or not database or not isinstance(url, str) or not url:
            return None
        authority = url.split("://", 1)[-1].split("/", 1)[0]
        host, _, port = authority.rpartition(":") if ":" in authority else (authority, "", "")
        return f"postgres://{host}:{port or DEFAULT_POSTGRES_PORT}/{database}"
    if kind in SQLITE_TYPES:
        path = settings.get("path")
        return f"sqlite://{os.path.abspath(path)}" if isinstance(path, str) and path else None
    return None


def _absolute(database: str) -> str:
    """`sqlite://.tmp/shop.db` (a path relative to the working directory, as sqlite-schema's endpoint may be)
    as the absolute name sqlite-schema gives the file."""
    if database.startswith("sqlite://") and not database.startswith("sqlite:///"):
        return "sqlite://" + os.path.abspath(database.removeprefix("sqlite://"))
    return database


def _keys(datasource: DatasourceRef | None) -> list[str]:
    if datasource is None:
        return []
    return [key for key in (datasource.uid, datasource.name) if key]
