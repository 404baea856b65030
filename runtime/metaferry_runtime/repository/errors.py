"""Errors the open metadata repository raises; each message says what was refused and why."""

from __future__ import annotations


class RepositoryError(Exception):
    """Base class of every repository refusal."""


class TypeErrorInRepository(RepositoryError):
    """An unknown type, a property not allowed on a type, or a relationship between wrong end types."""


class ElementNotFound(RepositoryError):
    pass


class DuplicateQualifiedName(RepositoryError):
    pass


class NotOwner(RepositoryError):
    """Only the owning metadata collection may update, archive or delete what it created."""


class StaleVersion(RepositoryError):
    """An update was made against a version that is no longer the current one (optimistic concurrency)."""


class DeletionFailSafe(RepositoryError):
    """Deletion detection would archive more than the permitted share of a collection's elements."""


class RepositoryUnavailable(RepositoryError):
    """The database cannot be reached; the caller may retry later."""


class TransactionAborted(RepositoryError):
    """The transaction was aborted from another thread (an abandoned refresh): nothing of it is written."""
