"""Errors the open metadata repository raises; each message says what was refused and why."""

from __future__ import annotations

from dataclasses import dataclass


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


@dataclass(frozen=True)
class FailSafeRefusal:
    """What one deletion-detection call was refused, in numbers, so the caller can report it and go on."""

    scope: str  # the types, and the qualified-name prefix when one was given
    would_archive: int
    in_scope: int  # the actor's active elements of those types (and prefix) when detection ran
    max_archive_percent: int


class DeletionFailSafe(RepositoryError):
    """Deletion detection would archive more than the permitted share of a collection's elements.

    Nothing was archived and the transaction is still usable: the refusal concerns only the archive.
    """

    def __init__(self, message: str, *, refusal: FailSafeRefusal) -> None:
        super().__init__(message)
        self.refusal = refusal


class RepositoryUnavailable(RepositoryError):
    """The database cannot be reached; the caller may retry later."""


class TransactionAborted(RepositoryError):
    """The transaction was aborted from another thread (an abandoned refresh): nothing of it is written."""
