"""The SQLAlchemy Core backend of the repository, for SQLite (embedded) and PostgreSQL (shared)."""

from metaferry_runtime.repository.sql.repository import SqlRepository

__all__ = ["SqlRepository"]
