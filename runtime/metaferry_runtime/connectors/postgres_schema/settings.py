"""The postgres-schema connector's configuration properties."""

from __future__ import annotations

from pydantic import Field, StrictBool

from metaferry_runtime.sdk.relational import RelationalSettings

#: PostgreSQL's own schemas: catalogued only when a user names them.
SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")


class PostgresSchemaSettings(RelationalSettings):
    """`schemas` adds to the resource's catalogTargets; with neither, every schema not excluded is read."""

    schemas: tuple[str, ...] = Field(default=(), description="schema names to catalogue, beside catalogTargets")
    exclude_schemas: tuple[str, ...] = Field(
        default=SYSTEM_SCHEMAS, description="schema names never catalogued unless named"
    )
    include_partitions: StrictBool = Field(default=True, description="true or false: catalogue each partition")
    connect_timeout_seconds: int = Field(default=10, ge=1, le=600, description="seconds, 1 to 600")
    statement_timeout_seconds: int = Field(default=60, ge=1, description="seconds, at least 1")
