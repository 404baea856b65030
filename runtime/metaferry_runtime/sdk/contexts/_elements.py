"""Egeria's per-service context methods, written once and bound to each service's element types.

Egeria's twelve integrator contexts repeat the same methods for every element type they manage (create,
update, publish, withdraw, remove, find, get by name, get mine, get by GUID) and the same link, unlink and
navigate methods for every relationship. Here a service module declares its types once, as `ElementKind`,
`RelationshipKind` and `ClassificationKind` values (`_element_kind`, `_relationship_kind`), and assigns
the operations it offers to Egeria-named class attributes:

    DATA_FILE = ElementKind("DataFile", is_asset=True)

    class FilesIntegratorContext(ElementContext):
        create_data_file = DATA_FILE.create()
        find_data_files = DATA_FILE.find()

Each operation is a class whose `__call__` is its signature and its implementation at once (`_operation`),
so connector code is type-checked against the code that runs. This module holds the context they bind
to: `ElementContext` offers them its transactions through the public hooks of `ContextHooks`, and adds
what every service shares (deletion detection, marking elements observed).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

from metaferry_runtime.audit import AuditMessage, RuntimeMessages
from metaferry_runtime.repository import DeletionFailSafe, Element, FailSafeRefusal, Transaction
from metaferry_runtime.repository.types import TypeRegistry, default_registry
from metaferry_runtime.sdk.context import IntegrationContext
from metaferry_runtime.sdk.contexts._element_kind import ElementKind, ElementUpsert, ParentLink
from metaferry_runtime.sdk.contexts._operation import MAX_PAGE_SIZE, ContextOperation, page_of
from metaferry_runtime.sdk.contexts._relationship_kind import ClassificationKind, RelationshipKind

#: Zones an asset joins when published (Egeria's publishZones) and leaves when withdrawn.
DEFAULT_PUBLISHED_ZONES: tuple[str, ...] = ("published",)


class ElementContext(IntegrationContext):
    """An IntegrationContext whose subclasses declare Egeria-named operations over element kinds."""

    #: Zones that publish_* adds and withdraw_* removes when the caller names none.
    published_zones: tuple[str, ...] = DEFAULT_PUBLISHED_ZONES

    @functools.cached_property
    def types(self) -> TypeRegistry:
        """The repository's type registry (the built-in one when the repository does not say)."""
        registry = getattr(self._repository, "types", None)
        return registry if isinstance(registry, TypeRegistry) else default_registry()

    def is_type_of(self, type_name: str, expected: str) -> bool:
        """True when `type_name` is `expected` or one of its subtypes (Egeria's isTypeOf)."""
        return type_name == expected or self.types.is_subtype(type_name, expected)

    # --- ContextHooks: what the operations of `sdk.contexts` use (connector code calls the operations) ------
    @contextmanager
    def write_transaction(self, action: str) -> Iterator[Transaction]:
        """Permitted synchronization is checked, then the write joins the context's transaction.

        One generator per call, not three nested ones: on a 20,000-file refresh this is the hot path.
        """
        self._check_writable(action)
        joined = self._joined_transaction()
        if joined is not None:
            yield joined
            return
        with self._writing_turn(), self._repository.transaction(actor=self._metadata_source) as transaction:
            yield transaction

    def joined_write_transaction(self, action: str) -> Transaction | None:
        """`write_transaction` for the per-element hot path: the joined transaction after the permitted-synchronization
        check, or None when the caller must open one with `write_transaction`. Why: even one generator-based context
        manager per upsert costs a tenth of an unchanged upsert on a 20,000-file refresh."""
        self._check_writable(action)
        return self._joined_transaction()

    #: Reads join this thread's transaction like writes, without the permitted-synchronization check.
    read_transaction = IntegrationContext._transaction

    def detect_deletions(self, *, type_names: Sequence[str], scope_prefix: str | None = None) -> list[Element]:
        """Archive what this refresh did not observe, as the resource's deletionDetection says.

        Call it at the end of a refresh, after everything that still exists was created, upserted or marked
        observed. Only elements this connector's metadata source owns are candidates. Above `maxArchivePercent`
        the fail-safe refuses the archive alone: nothing is archived, the refusal is audited and recorded on
        the refresh (for its report), and the refresh goes on to commit its creates and updates. Why here:
        every connector calling this gets that without handling DeletionFailSafe itself. A refresh whose
        archive a user confirmed archives anyway. With `dryRun` nothing is archived and the result says what
        would have been. Returns nothing when detection is disabled or refused.
        """
        settings = self.deletion_detection
        if not settings.enabled:
            self._check_usable()
            return []
        with self.write_transaction("archive elements that disappeared") as transaction:
            try:
                return transaction.archive_unobserved(
                    type_names=type_names,
                    scope_prefix=scope_prefix,
                    max_archive_percent=settings.max_archive_percent,
                    dry_run=settings.dry_run,
                )
            except DeletionFailSafe as refused:
                refusal = refused.refusal
            batch = self._refresh_batch()
            if batch is not None and batch.archive_confirmed:
                archived = transaction.archive_unobserved(
                    type_names=type_names, scope_prefix=scope_prefix, max_archive_percent=100, dry_run=settings.dry_run
                )
                if not settings.dry_run:
                    self._audit_fail_safe(RuntimeMessages.ARCHIVE_CONFIRMED, refusal, archived=len(archived))
                return archived
            if batch is not None:
                batch.archive_refusals.append(refusal)
            self._audit_fail_safe(RuntimeMessages.ARCHIVE_REFUSED, refusal)
            return []

    def _audit_fail_safe(self, message: AuditMessage, refusal: FailSafeRefusal, **params: object) -> None:
        self.audit_log.log_message(
            "detect deletions",
            message,
            connector_name=self.connector_name,
            would_archive=refusal.would_archive,
            in_scope=refusal.in_scope,
            scope=refusal.scope,
            percent=round(refusal.would_archive * 100 / refusal.in_scope),
            limit=refusal.max_archive_percent,
            **params,
        )

    def mark_observed(self, guid: str) -> None:
        """Tell deletion detection that this refresh saw the element even though nothing about it changed."""
        with self.write_transaction("mark an element observed") as transaction:
            transaction.mark_observed(guid)

    def mark_observed_by_names(self, qualified_names: Iterable[str]) -> list[str]:
        """`mark_observed` for many elements this connector owns, by qualified name, in one call; returns the
        names that matched none (so the connector can catalogue those again). For a connector that knows a
        subtree is unchanged without upserting it (a table whose definition digest matches)."""
        with self.write_transaction("mark elements observed") as transaction:
            return transaction.mark_observed_by_names(qualified_names)


ContextT = TypeVar("ContextT", bound=ElementContext)

__all__ = [
    "MAX_PAGE_SIZE",
    "ClassificationKind",
    "ContextOperation",
    "ContextT",
    "ElementContext",
    "ElementKind",
    "ElementUpsert",
    "ParentLink",
    "RelationshipKind",
    "page_of",
]
