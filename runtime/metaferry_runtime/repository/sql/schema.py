"""Tables of the repository and the versioned DDL that creates and upgrades them when a repository opens.

One SQLAlchemy Core schema serves SQLite and PostgreSQL: JSON columns become JSONB on PostgreSQL, and the
search column gets a trigram index there (pg_trgm; a plain btree index when the extension is missing).
`search_text` holds the lower-cased qualified name, name, displayName and description (harvested and
curated), separated by a unit separator, so a case-insensitive substring search is one LIKE on one column.

Migrations are numbered functions applied in order inside one transaction under a lock (an advisory lock
on PostgreSQL, the write lock on SQLite), so any number of processes may open the same database at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    insert,
    inspect,
    select,
    text,
    type_coerce,
)
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator, TypeEngine

from metaferry_runtime.repository.errors import RepositoryError
from metaferry_runtime.repository.sql import records

log = logging.getLogger(__name__)

SCHEMA_LOCK_KEY = 0x6D65_7461_0001  # advisory lock held while migrating (PostgreSQL)
EVENTS_LOCK_KEY = 0x6D65_7461_0002  # advisory lock held from event insertion to commit (PostgreSQL)


class Json(TypeDecorator[Any]):
    """JSON, stored as JSONB on PostgreSQL. Why not `JSON().with_variant(JSONB(), "postgresql")`: that needs
    JSONB when this module is imported, which loads SQLAlchemy's PostgreSQL dialect (over 2 MiB resident)
    into every runtime, SQLite ones included; here it is imported only for a PostgreSQL connection."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(JSON())


Sequence = BigInteger().with_variant(Integer(), "sqlite")  # SQLite: INTEGER PRIMARY KEY AUTOINCREMENT
Time = DateTime(timezone=True)

metadata = MetaData()

elements = Table(
    "elements",
    metadata,
    Column("guid", String(36), primary_key=True),
    Column("type_name", String(200), nullable=False),
    Column("qualified_name", Text, nullable=False, unique=True),
    Column("properties", Json, nullable=False),
    Column("curated_properties", Json, nullable=False),
    Column("classifications", Json, nullable=False),
    Column("zones", Json, nullable=False),
    Column("metadata_collection", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("version", Integer, nullable=False),
    Column("create_time", Time, nullable=False),
    Column("update_time", Time, nullable=False),
    Column("created_by_refresh", Text),
    Column("last_refresh_id", Text),
    Column("last_observed_time", Time),
    Column("search_text", Text, nullable=False),
    Column("curations", Json, nullable=False),  # who curated each curated property, and when (version 2)
)
Index("ix_elements_type", elements.c.type_name)
Index("ix_elements_collection_type", elements.c.metadata_collection, elements.c.type_name)
Index("ix_elements_last_refresh", elements.c.last_refresh_id)

relationships = Table(
    "relationships",
    metadata,
    Column("guid", String(36), primary_key=True),
    Column("type_name", String(200), nullable=False),
    Column("end1_guid", String(36), ForeignKey("elements.guid", ondelete="CASCADE"), nullable=False),
    Column("end2_guid", String(36), ForeignKey("elements.guid", ondelete="CASCADE"), nullable=False),
    Column("properties", Json, nullable=False),
    Column("metadata_collection", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("version", Integer, nullable=False),
    Column("create_time", Time, nullable=False),
    Column("update_time", Time, nullable=False),
    Column("created_by_refresh", Text),
    Column("last_refresh_id", Text),
)
Index("ix_relationships_end1", relationships.c.end1_guid, relationships.c.type_name)
Index("ix_relationships_end2", relationships.c.end2_guid, relationships.c.type_name)
Index("ix_relationships_collection", relationships.c.metadata_collection)

events = Table(
    "events",
    metadata,
    Column("sequence", Sequence, primary_key=True, autoincrement=True),
    Column("kind", String(40), nullable=False),
    Column("event_time", Time, nullable=False),
    Column("metadata_collection", Text, nullable=False),
    Column("refresh_id", Text),
    Column("element_guid", String(36)),
    Column("relationship_guid", String(36)),
    Column("payload", Text, nullable=False),  # JSON text: written once, read whole, never queried inside
    sqlite_autoincrement=True,
)

schema_version = Table("schema_version", metadata, Column("version", Integer, primary_key=True))


def _raw_columns(columns: list[Column[Any]], postgresql: bool) -> list[ColumnElement[Any]]:
    """The columns for reading in bulk. On SQLite JSON and times come back as the stored text and
    records.py decodes them (several times faster than the generic result processors); psycopg already
    decodes JSONB and timestamptz natively."""
    if postgresql:
        return list(columns)
    return [
        type_coerce(column, Text).label(column.name) if isinstance(column.type, Json | DateTime) else column
        for column in columns
    ]


def element_columns(postgresql: bool) -> list[ColumnElement[Any]]:
    """The columns an element record is read from, in its field order: all but `search_text`, which only
    searches use (in SQL) and which cost a fifth of reading a collection's elements at the start of a refresh."""
    return _raw_columns([elements.c[name] for name in records.ELEMENT.columns], postgresql)


def relationship_columns(postgresql: bool) -> list[ColumnElement[Any]]:
    """The columns a relationship record is read from, in its field order."""
    return _raw_columns([relationships.c[name] for name in records.RELATIONSHIP.columns], postgresql)


def _v1_tables(conn: Connection) -> None:
    metadata.create_all(conn, tables=[elements, relationships, events])
    if conn.dialect.name != "postgresql":
        return
    savepoint = conn.begin_nested()
    try:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        conn.execute(
            text("CREATE INDEX IF NOT EXISTS ix_elements_search ON elements USING gin (search_text gin_trgm_ops)")
        )
        savepoint.commit()
    except Exception as error:  # no pg_trgm (not installed, or not allowed): still index prefixes
        savepoint.rollback()
        log.warning("pg_trgm unavailable (%s); search uses a btree index only", error)
        conn.execute(text("CREATE INDEX IF NOT EXISTS ix_elements_search ON elements (search_text text_pattern_ops)"))


def _v2_curations(conn: Connection) -> None:
    """Curations are attributed: `curations` maps each curated property to its curator and time. Version 1
    creates the tables as they are defined now, so only a database made before this version lacks it."""
    if "curations" in {column["name"] for column in inspect(conn).get_columns("elements")}:
        return
    empty = "'{}'::jsonb" if conn.dialect.name == "postgresql" else "'{}'"
    kind = "JSONB" if conn.dialect.name == "postgresql" else "JSON"
    conn.execute(text(f"ALTER TABLE elements ADD COLUMN curations {kind} NOT NULL DEFAULT {empty}"))


MIGRATIONS: tuple[tuple[int, Callable[[Connection], None]], ...] = ((1, _v1_tables), (2, _v2_curations))
LATEST_VERSION = MIGRATIONS[-1][0]


def ensure_schema(engine: Engine) -> int:
    """Bring the database to LATEST_VERSION; idempotent and safe to run from several processes at once."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
        schema_version.create(conn, checkfirst=True)
        current = conn.scalar(select(func.max(schema_version.c.version))) or 0
        if current > LATEST_VERSION:
            raise RepositoryError(
                f"the database schema is at version {current}, newer than this metaferry knows ({LATEST_VERSION});"
                " upgrade metaferry"
            )
        for version, migrate in MIGRATIONS:
            if version > current:
                log.info("applying repository schema version %d", version)
                migrate(conn)
                conn.execute(insert(schema_version).values(version=version))
        return LATEST_VERSION
