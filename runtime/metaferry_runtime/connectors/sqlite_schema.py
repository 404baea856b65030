"""The `sqlite-schema` connector: catalogues a SQLite file's tables, views, columns and keys.

The endpoint is the file's path or a `sqlite:///` URL. The file is opened read-only (`mode=ro`), so the
connector can never change it, and each refresh reads the catalogue with three queries that join
`sqlite_schema` with the `pragma_table_xinfo` and `pragma_foreign_key_list` table-valued functions, in one
read transaction (one consistent schema even while another process runs DDL). The catalogue is written by
the SDK's `catalog_database`, as for PostgreSQL: schema `main`, qualified names
`sqlite://<absolute path>/main/<table>`, and unchanged tables are skipped by digest.

Virtual tables are left out (reading their columns needs their module loaded); their shadow tables are
ordinary tables and are catalogued. SQLite's keys have no names: a primary key is `<table>_pkey` and a
foreign key `<table>_fkey<n>`, as PostgreSQL would name them.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from pydantic import Field

from metaferry_runtime.sdk import (
    ConnectorConfigurationError,
    ConnectorError,
    Diagnosis,
    IntegrationConnector,
    MessageCatalogue,
    Severity,
    numbered,
)
from metaferry_runtime.sdk.contexts.database import DatabaseIntegratorContext
from metaferry_runtime.sdk.relational import (
    ColumnDefinition,
    DatabaseDefinition,
    ForeignKeyDefinition,
    RelationalSettings,
    SchemaDefinition,
    TableDefinition,
    TableKind,
    catalog_database,
    path_names,
)

SCHEMA = "main"

RELATIONS_SQL = """
select type, name, sql from sqlite_schema
where type in ('table', 'view') and name not like 'sqlite\\_%' escape '\\'
  and coalesce(sql, '') not like 'CREATE VIRTUAL TABLE%'
order by name
"""

COLUMNS_SQL = """
select m.name, c.cid, c.name, c.type, c."notnull", c.dflt_value, c.pk
from sqlite_schema m join pragma_table_xinfo(m.name) c
where m.type in ('table', 'view') and m.name not like 'sqlite\\_%' escape '\\'
  and coalesce(m.sql, '') not like 'CREATE VIRTUAL TABLE%' and c.hidden <> 1
order by m.name, c.cid
"""

FOREIGN_KEYS_SQL = """
select m.name, f.id, f.seq, f."table", f."from", f."to"
from sqlite_schema m join pragma_foreign_key_list(m.name) f
where m.type = 'table' and m.name not like 'sqlite\\_%' escape '\\'
order by m.name, f.id, f.seq
"""

_VIEW_QUERY = re.compile(r"\bAS\b\s*(.*)\Z", re.IGNORECASE | re.DOTALL)


class SqliteSchemaSettings(RelationalSettings):
    busy_timeout_seconds: float = Field(
        default=5, gt=0, le=600, description="seconds to wait for another process's write lock, up to 600"
    )


class SqliteSchemaMessages(MessageCatalogue):
    prefix = "METAFERRY-SQLITE-SCHEMA"

    OPENED = numbered(
        1,
        Severity.STARTUP,
        "Connector {connector_name} catalogues the SQLite database {path} (SQLite {version}, read-only)",
        "Each refresh reads the file's schema in one read transaction and updates only the tables that changed.",
        "No action is required.",
    )
    CATALOGUED = numbered(
        2,
        Severity.INFO,
        "Connector {connector_name} read {tables} tables and views ({columns} columns) of {path}:"
        " {changed} changed, {unchanged} unchanged, {archived} archived",
        "Unchanged tables were only marked as seen; changed ones were catalogued again with their columns and keys.",
        "No action is required.",
    )


def database_path(endpoint: str) -> str:
    """The absolute path an endpoint names: a plain path, or `sqlite:///path` (`sqlite:////abs` too)."""
    if endpoint.startswith("sqlite:"):
        parts = urlsplit(endpoint)
        if parts.netloc not in ("", "localhost"):
            raise ConnectorConfigurationError(f"{endpoint} names a host; a SQLite endpoint is a local file")
        path = unquote(parts.path)
        # As SQLAlchemy: sqlite:///relative/file.db, and sqlite:////absolute/file.db.
        endpoint = path[1:] if path.startswith("/") else path
    elif endpoint.startswith("file:"):
        endpoint = unquote(urlsplit(endpoint).path)
    return os.path.abspath(endpoint)


def open_read_only(path: str, busy_timeout: float) -> sqlite3.Connection:
    """The file opened read-only; a missing file or one that is not a database is a configuration error."""
    if not os.path.isfile(path):
        raise ConnectorConfigurationError(f"the SQLite database {path} does not exist or is not a file")
    uri = f"file:{quote(path)}?mode=ro"
    try:
        database = sqlite3.connect(uri, uri=True, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
        database.execute("select count(*) from sqlite_schema").fetchone()
    except sqlite3.DatabaseError as error:
        raise ConnectorConfigurationError(f"cannot read {path} as a SQLite database: {error}") from error
    return database


def read_catalog(database: sqlite3.Connection, path: str, settings: SqliteSchemaSettings) -> DatabaseDefinition:
    """The file's catalogue, read in one read transaction."""
    database.execute("begin")
    try:
        (version,) = database.execute("select sqlite_version()").fetchone()
        relations = [
            (kind, name, sql) for kind, name, sql in database.execute(RELATIONS_SQL) if settings.wants(SCHEMA, name)
        ]
        wanted = {name for _, name, _ in relations}
        columns: dict[str, list[ColumnDefinition]] = defaultdict(list)
        keys: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for table, cid, name, declared, not_null, default, key_position in database.execute(COLUMNS_SQL):
            if table not in wanted:
                continue
            columns[table].append(
                ColumnDefinition(
                    name=name,
                    position=cid + 1,
                    data_type=declared or "",
                    is_nullable=not not_null,
                    default=default,
                )
            )
            if key_position:
                keys[table].append((key_position, name))
        primary_keys = {table: tuple(name for _, name in sorted(found)) for table, found in keys.items()}
        references: dict[tuple[str, int], list[tuple[str, str, str | None]]] = defaultdict(list)
        for table, key_id, _, referenced_table, column, referenced_column in database.execute(FOREIGN_KEYS_SQL):
            if table in wanted:
                references[(table, key_id)].append((referenced_table, column, referenced_column))
    finally:
        database.execute("commit")
    foreign_keys: dict[str, list[ForeignKeyDefinition]] = defaultdict(list)
    for (table, key_id), parts in sorted(references.items()):
        referenced_table = parts[0][0]
        referenced = [column for _, _, column in parts]
        if any(column is None for column in referenced):  # REFERENCES t: the referenced table's primary key
            referenced = list(primary_keys.get(referenced_table, ()))
        foreign_keys[table].append(
            ForeignKeyDefinition(
                name=f"{table}_fkey{key_id}",
                columns=tuple(column for _, column, _ in parts),
                referenced_schema=SCHEMA,
                referenced_table=referenced_table,
                referenced_columns=tuple(str(column) for column in referenced),
            )
        )
    tables = []
    for kind, name, sql in relations:
        is_view = kind == "view"
        formula = None
        if is_view and sql:
            match = _VIEW_QUERY.search(sql)
            formula = match.group(1).strip() if match else sql
        key = primary_keys.get(name, ())
        tables.append(
            TableDefinition(
                schema=SCHEMA,
                name=name,
                kind=TableKind.VIEW if is_view else TableKind.TABLE,
                columns=tuple(columns.get(name, ())),
                formula=formula,
                primary_key_name=f"{name}_pkey" if key else None,
                primary_key=key,
                foreign_keys=tuple(foreign_keys.get(name, ())),
            )
        )
    return DatabaseDefinition(
        name=Path(path).name,
        database_type="SQLite",
        version=version,
        instance=path,
        schemas=(SchemaDefinition(SCHEMA),),
        tables=tuple(tables),
        deployed_implementation_type="SQLite Relational Database",
    )


class SqliteSchemaConnector(IntegrationConnector[DatabaseIntegratorContext]):
    """Catalogues a SQLite file as Egeria does: Database, schema `main`, tables, views, columns, keys."""

    integration_service = "database"
    configuration_model = SqliteSchemaSettings

    def __init__(self) -> None:
        super().__init__()
        self._settings = SqliteSchemaSettings()
        self._path = ""
        self._database: sqlite3.Connection | None = None

    def start(self) -> None:
        self._configure()
        database = self._opened()
        (version,) = database.execute("select sqlite_version()").fetchone()
        if self._audit_log is not None:
            self.audit_log.log_message(
                "start",
                SqliteSchemaMessages.OPENED,
                connector_name=self.connector_name,
                path=self._path,
                version=version,
            )

    def refresh(self) -> None:
        if not os.path.isfile(self._path):
            self._close()
            raise ConnectorError(f"the SQLite database {self._path} has disappeared; nothing was archived")
        try:
            definition = read_catalog(self._opened(), self._path, self._settings)
        except sqlite3.OperationalError as error:
            self._close()
            raise ConnectorError(f"cannot read the schema of {self._path}: {error}") from error
        outcome = catalog_database(self.context, definition, path_names("sqlite", self._path))
        if self._audit_log is not None:
            self.audit_log.log_message(
                "refresh",
                SqliteSchemaMessages.CATALOGUED,
                connector_name=self.connector_name,
                tables=outcome.tables,
                columns=outcome.columns,
                path=self._path,
                changed=len(outcome.changed_tables),
                unchanged=outcome.unchanged_tables,
                archived=len(outcome.archived),
            )

    def disconnect(self) -> None:
        self._close()

    def diagnose(self) -> Sequence[Diagnosis]:
        """open (read-only), SQLite version, the tables the file holds."""
        self._configure()
        try:
            database = open_read_only(self._path, self._settings.busy_timeout_seconds)
        except ConnectorError as error:
            return [Diagnosis("open", False, str(error))]
        try:
            (version,) = database.execute("select sqlite_version()").fetchone()
            relations = database.execute(RELATIONS_SQL).fetchall()
        finally:
            database.close()
        selected = sum(1 for _, name, _ in relations if self._settings.wants(SCHEMA, name))
        return [
            Diagnosis("open", True, f"{self._path} opened read-only"),
            Diagnosis("sqlite version", True, f"SQLite {version}"),
            Diagnosis("tables", True, f"{len(relations)} tables and views, {selected} selected by the filters"),
        ]

    def _configure(self) -> None:
        self._settings = self.configuration
        endpoint = self.connection.endpoint
        if not endpoint:
            raise ConnectorConfigurationError("sqlite-schema needs connection.endpoint: the database file's path")
        self._path = database_path(endpoint)

    def _opened(self) -> sqlite3.Connection:
        if self._database is None:
            self._database = open_read_only(self._path, self._settings.busy_timeout_seconds)
        return self._database

    def _close(self) -> None:
        database, self._database = self._database, None
        if database is not None:
            database.interrupt()
            database.close()
