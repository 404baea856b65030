"""The postgres-schema connector's configuration properties."""

from __future__ import annotations

from pydantic import Field

from metaferry_runtime.sdk.relational import RelationalSettings

#: PostgreSQL's own schemas: catalogued only when a user names them.
SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")


class PostgresSchemaSettings(RelationalSettings):
    """`schemas` adds to the resource's catalogTargets; with neither, every schema not excluded is read."""

    schemas: tuple[str, ...] = Field(default=(), description="Schemas to catalogue (and catalogTargets).")
    exclude_schemas: tuple[str, ...] = Field(default=SYSTEM_SCHEMAS, alias="excludeSchemas")
    include_partitions: bool = Field(
        default=True, alias="includePartitions", description="Catalogue each partition of a partitioned table."
    )
    connect_timeout_seconds: int = Field(default=10, ge=1, le=600, alias="connectTimeoutSeconds")
    statement_timeout_seconds: int = Field(default=60, ge=1, alias="statementTimeoutSeconds")
