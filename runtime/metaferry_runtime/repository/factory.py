"""Open a repository from a URL: the one way the runtime and tests get a MetadataRepository."""

from __future__ import annotations

from metaferry_runtime.repository.interface import MetadataRepository
from metaferry_runtime.repository.types import TypeRegistry


def open_repository(url: str, *, types: TypeRegistry | None = None, poll_interval: float = 1.0) -> MetadataRepository:
    """`sqlite:///path.db` (or a bare path) or `postgresql://user@host:port/db`; creates/upgrades the schema.

    `poll_interval` bounds how late a listener sees events committed by another process without a
    notification (SQLite); on PostgreSQL NOTIFY wakes listeners at once.
    """
    from metaferry_runtime.repository.sql import SqlRepository

    return SqlRepository(url, types=types, poll_interval=poll_interval)
