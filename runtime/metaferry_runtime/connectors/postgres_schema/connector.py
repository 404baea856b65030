"""The `postgres-schema` connector: catalogues a PostgreSQL database's schemas, tables, views and columns.

start() validates the configuration and connects (a wrong password or a missing database is CONFIG_FAILED;
an unreachable server is FAILED and retried). Each refresh reads the catalogue in one READ ONLY
REPEATABLE READ snapshot (`catalog.py`) and hands it to the SDK's `catalog_database`, which skips every
table whose definition digest is unchanged. A broken connection is opened again by the next refresh.
"""

from __future__ import annotations

import contextlib
import random
import time
from typing import Any

import psycopg

from metaferry_runtime.connectors.postgres_schema.catalog import MissingSchemas, read_catalog
from metaferry_runtime.connectors.postgres_schema.server import (
    ServerAddress,
    connect,
    connect_error,
    connection_parameters,
)
from metaferry_runtime.connectors.postgres_schema.settings import PostgresSchemaSettings
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
    CatalogueOutcome,
    DatabaseDefinition,
    TableFilters,
    catalog_database,
    dotted_names,
)

#: How many times a refresh reads the catalogue when DDL drops relations while it reads, and the pause
#: before reading again (times the attempt, with jitter, so a read stops meeting the same DDL rhythm).
#: Three were too few for a schema under constant create/drop on a busy 2-core machine.
READ_ATTEMPTS = 8
RETRY_PAUSE_SECONDS = 0.02

PRIVILEGES_SQL = """
select n.nspname, has_schema_privilege(n.oid, 'USAGE'),
       count(c.oid) filter (where c.relkind in ('r', 'v', 'm', 'p', 'f')),
       count(c.oid) filter (where c.relkind in ('r', 'v', 'm', 'p', 'f') and has_table_privilege(c.oid, 'SELECT'))
from pg_namespace n left join pg_class c on c.relnamespace = n.oid
where n.nspname = any(%(schemas)s)
group by n.nspname, n.oid order by n.nspname
"""


def _dropped_while_reading(error: psycopg.Error) -> bool:
    message = str(error)
    return "could not open relation with OID" in message or "cache lookup failed for relation" in message


class PostgresSchemaMessages(MessageCatalogue):
    prefix = "METAFERRY-POSTGRES-SCHEMA"

    CONNECTED = numbered(
        1,
        Severity.STARTUP,
        "Connector {connector_name} catalogues {schemas} of {server} (PostgreSQL {version})",
        "Each refresh reads the catalogue in one read-only snapshot and updates only the tables that changed.",
        "No action is required.",
    )
    CATALOGUED = numbered(
        2,
        Severity.INFO,
        "Connector {connector_name} read {tables} tables and views ({columns} columns) of {server}:"
        " {changed} changed, {unchanged} unchanged, {archived} archived",
        "Unchanged tables were only marked as seen; changed ones were catalogued again with their columns and keys.",
        "No action is required.",
    )
    UNRESOLVED_KEYS = numbered(
        3,
        Severity.INFO,
        "Connector {connector_name} found {count} foreign keys into schemas it does not catalogue: {sample}",
        "These keys are not linked; the columns they reference are not in the catalogue.",
        "Add the referenced schemas to catalogTargets or the schemas property to link them.",
    )


class PostgresSchemaConnector(IntegrationConnector[DatabaseIntegratorContext]):
    """Catalogues PostgreSQL schemas as Egeria does: Database, DeployedDatabaseSchema, tables, columns, keys."""

    integration_service = "database"
    configuration_model = PostgresSchemaSettings
    #: A schema target may carry its own includeTables/excludeTables, replacing the connector's for it.
    catalog_target_model = TableFilters

    def __init__(self) -> None:
        super().__init__()
        self._settings = PostgresSchemaSettings()
        self._parameters: dict[str, Any] = {}
        self._address: ServerAddress | None = None
        self._server: psycopg.Connection[Any] | None = None

    # --- lifecycle --------------------------------------------------------------------------------------------
    def start(self) -> None:
        self._configure()
        server = self._connected()
        with server.transaction(), server.cursor() as cursor:
            cursor.execute("select current_setting('server_version')")
            (version,) = cursor.fetchone() or ("unknown",)
            if self.target_schemas:
                cursor.execute("select nspname from pg_namespace where nspname = any(%s)", [list(self.target_schemas)])
                found = {name for (name,) in cursor.fetchall()}
                missing = [name for name in self.target_schemas if name not in found]
                if missing:
                    raise ConnectorConfigurationError(
                        f"the schemas {', '.join(missing)} do not exist in {self.address} (or {self.address.user}"
                        " cannot see them): check catalogTargets and the schemas property"
                    )
        if self._audit_log is not None:
            self.audit_log.log_message(
                "start",
                PostgresSchemaMessages.CONNECTED,
                connector_name=self.connector_name,
                schemas=", ".join(self.target_schemas) or "every schema",
                server=str(self.address),
                version=version,
            )

    def refresh(self) -> None:
        """Read the catalogue in one snapshot, then bring the repository in step with it."""
        try:
            definition = self._read_catalog()
        except MissingSchemas as error:
            raise ConnectorError(
                f"the schemas {', '.join(error.missing)} are no longer in {self.address}; nothing was archived"
            ) from error
        except psycopg.errors.QueryCanceled as error:
            raise ConnectorError(
                f"reading the catalogue of {self.address} took longer than statementTimeoutSeconds"
                f" ({self._settings.statement_timeout_seconds}); nothing was changed"
            ) from error
        except psycopg.OperationalError as error:
            self._close()
            raise connect_error(error, self.address) from error
        names = dotted_names("postgres", self.address.authority, definition.name)
        outcome = catalog_database(self.context, definition, names)
        self._report(outcome)

    def disconnect(self) -> None:
        self._close()

    def _read_catalog(self) -> DatabaseDefinition:
        """The catalogue in one snapshot. A relation dropped after the snapshot began, but before a function
        such as pg_get_viewdef opened it, fails the read ("could not open relation"): read it again."""
        for attempt in range(1, READ_ATTEMPTS + 1):
            server = self._connected()
            try:
                with server.transaction(), server.cursor() as cursor:
                    return read_catalog(
                        cursor,
                        self._settings,
                        schemas=self.target_schemas,
                        instance=self.address.authority,
                        filters=self._target_filters(),
                    )
            except psycopg.errors.InternalError_ as error:
                if attempt == READ_ATTEMPTS or not _dropped_while_reading(error):
                    raise ConnectorError(f"reading the catalogue of {self.address} failed: {error}") from error
            time.sleep(RETRY_PAUSE_SECONDS * attempt * random.uniform(0.5, 1.5))
        raise AssertionError("unreachable")

    def diagnose(self) -> list[Diagnosis]:
        """connect, server version, privileges on each target schema."""
        self._configure()
        try:
            server = connect(self._parameters, self.address)
        except ConnectorError as error:
            return [Diagnosis("connect", False, str(error))]
        steps = [Diagnosis("connect", True, f"connected to {self.address} (read-only session)")]
        try:
            with server.transaction(), server.cursor() as cursor:
                cursor.execute("select current_setting('server_version')")
                (version,) = cursor.fetchone() or ("unknown",)
                steps.append(Diagnosis("server version", True, f"PostgreSQL {version}"))
                schemas = list(self.target_schemas)
                if not schemas:
                    cursor.execute(
                        "select nspname from pg_namespace where nspname <> all(%s)"
                        " and nspname !~ '^pg_(toast_)?temp_' order by nspname",
                        [list(self._settings.exclude_schemas)],
                    )
                    schemas = [name for (name,) in cursor.fetchall()]
                cursor.execute(PRIVILEGES_SQL, {"schemas": schemas})
                rows = {name: (usage, tables, readable) for name, usage, tables, readable in cursor.fetchall()}
        finally:
            server.close()
        for schema in schemas:
            if schema not in rows:
                steps.append(Diagnosis(f"schema {schema}", False, f"does not exist in {self.address}"))
                continue
            usage, tables, readable = rows[schema]
            detail = f"{tables} tables and views; usage {'granted' if usage else 'not granted'}, select on {readable}"
            steps.append(Diagnosis(f"schema {schema}", True, detail))
        return steps

    # --- helpers ----------------------------------------------------------------------------------------------
    @property
    def address(self) -> ServerAddress:
        if self._address is None:
            raise ConnectorError("postgres-schema is not configured yet: start() has not run")
        return self._address

    @property
    def target_schemas(self) -> tuple[str, ...]:
        """The resource's catalogTargets and the `schemas` property, in that order, without repeats."""
        targets = [*(target.name for target in self.context.get_catalog_targets()), *self._settings.schemas]
        return tuple(dict.fromkeys(targets))

    def _target_filters(self) -> dict[str, TableFilters]:
        """Each schema target's own table filters, laid over the connector's."""
        return {
            target.name: target.configuration.over(self._settings)
            for target in self.context.get_catalog_targets()
            if target.configuration is not None and target.configuration.model_fields_set
        }

    def _configure(self) -> None:
        self._settings = self.configuration
        self._parameters, self._address = connection_parameters(self.connection, self._settings)

    def _connected(self) -> psycopg.Connection[Any]:
        if self._server is None or self._server.closed or self._server.broken:
            self._close()
            self._server = connect(self._parameters, self.address)
        return self._server

    def _close(self) -> None:
        """Close the connection; a query still running (an abandoned refresh's) is cancelled first."""
        server, self._server = self._server, None
        if server is None or server.closed:
            return
        with contextlib.suppress(psycopg.Error):  # a server that is gone already: closing is all that is left
            server.cancel_safe(timeout=self._settings.connect_timeout_seconds)
        server.close()

    def _report(self, outcome: CatalogueOutcome) -> None:
        if self._audit_log is None:
            return
        self.audit_log.log_message(
            "refresh",
            PostgresSchemaMessages.CATALOGUED,
            connector_name=self.connector_name,
            tables=outcome.tables,
            columns=outcome.columns,
            server=str(self.address),
            changed=len(outcome.changed_tables),
            unchanged=outcome.unchanged_tables,
            archived=len(outcome.archived),
        )
        if outcome.unresolved_foreign_keys:
            sample = ", ".join(outcome.unresolved_foreign_keys[:5])
            self.audit_log.log_message(
                "refresh",
                PostgresSchemaMessages.UNRESOLVED_KEYS,
                connector_name=self.connector_name,
                count=len(outcome.unresolved_foreign_keys),
                sample=sample,
            )
