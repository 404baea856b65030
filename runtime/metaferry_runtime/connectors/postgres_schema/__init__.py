"""The `postgres-schema` connector of the database integration service (see `connector.py`)."""

from metaferry_runtime.connectors.postgres_schema.connector import PostgresSchemaConnector, PostgresSchemaMessages

__all__ = ["PostgresSchemaConnector", "PostgresSchemaMessages"]
