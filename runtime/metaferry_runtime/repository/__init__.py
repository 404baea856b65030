"""The open metadata repository: elements, relationships, classifications, zones, and the out topic."""

from metaferry_runtime.repository.errors import (
    DeletionFailSafe,
    DuplicateQualifiedName,
    ElementNotFound,
    FailSafeRefusal,
    NotOwner,
    RepositoryError,
    RepositoryUnavailable,
    StaleVersion,
    TransactionAborted,
    TypeErrorInRepository,
)
from metaferry_runtime.repository.factory import open_repository
from metaferry_runtime.repository.interface import EventListener, MetadataRepository, Transaction
from metaferry_runtime.repository.model import (
    ChangeCounts,
    ChangeEvent,
    ChangeKind,
    Classification,
    Curation,
    Element,
    InstanceStatus,
    Page,
    Provenance,
    Relationship,
)

__all__ = [
    "ChangeCounts",
    "ChangeEvent",
    "ChangeKind",
    "Classification",
    "Curation",
    "DeletionFailSafe",
    "DuplicateQualifiedName",
    "Element",
    "ElementNotFound",
    "EventListener",
    "FailSafeRefusal",
    "InstanceStatus",
    "MetadataRepository",
    "NotOwner",
    "Page",
    "Provenance",
    "Relationship",
    "RepositoryError",
    "RepositoryUnavailable",
    "StaleVersion",
    "Transaction",
    "TransactionAborted",
    "TypeErrorInRepository",
    "open_repository",
]
