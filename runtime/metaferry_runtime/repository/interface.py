"""The one interface both repository backends (SQLite embedded, PostgreSQL shared) implement.

Every write happens inside a `Transaction`; the runtime opens one per refresh so a refresh commits whole or
not at all. The actor of a transaction is a metadata collection (a connector's
`metadataSourceQualifiedName`): it owns what it creates, and only it may update, classify, publish, archive
or delete that. The one exception is curation: people edit any element through `curate_element`, which
records who made each edit (connectors cannot curate: no context offers it).
Methods are synchronous: connectors run on worker threads, never on the runtime's event loop.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

from metaferry_runtime.repository.model import (
    ChangeCounts,
    ChangeEvent,
    ChangeKind,
    Element,
    Page,
    Relationship,
)

EventListener = Callable[[ChangeEvent], None]


#: One element of `upsert_elements`: type name, qualified name, properties, and optionally the
#: classifications (name -> properties) it is created with.
UpsertItem = (
    tuple[str, str, Mapping[str, Any]] | tuple[str, str, Mapping[str, Any], Mapping[str, Mapping[str, Any]] | None]
)


class Transaction(abc.ABC):
    """Reads see this transaction's own writes. Leaving the `with` block normally commits; an exception rolls back."""

    actor: str
    refresh_id: str | None
    counts: ChangeCounts

    # --- elements -------------------------------------------------------------------------------------------
    @abc.abstractmethod
    def create_element(
        self,
        type_name: str,
        qualified_name: str,
        properties: Mapping[str, Any],
        *,
        classifications: Mapping[str, Mapping[str, Any]] | None = None,
        zones: Sequence[str] | None = None,
    ) -> Element:
        """Create an element owned by the actor; DuplicateQualifiedName if the name exists (active or archived)."""

    @abc.abstractmethod
    def upsert_element(
        self, type_name: str, qualified_name: str, properties: Mapping[str, Any]
    ) -> tuple[Element, ChangeKind]:
        """Create, update (replace harvested properties) or leave unchanged, by qualified name; marks it observed.

        Returns ELEMENT_CREATED, ELEMENT_UPDATED, ELEMENT_RESTORED (it was archived) or UNCHANGED. An element of
        another collection with that name raises NotOwner. Human-curated properties are never overwritten.
        """

    @abc.abstractmethod
    def upsert_elements(self, upserts: Iterable[UpsertItem]) -> list[tuple[str, ChangeKind]]:
        """`upsert_element` for each (type name, qualified name, properties[, classifications]), in order;
        returns each one's GUID and change. Classifications are those an element is created with (as
        `create_element`'s: one CREATED event shows them); an existing element's are left as they are. Why: a
        refresh upserts thousands of elements and uses few of the models `upsert_element` returns, so building
        one per element (and a call per element) was a large part of its cost. Like that many calls, it stops
        at the first error, leaving the transaction to roll back."""

    @abc.abstractmethod
    def update_element(
        self,
        guid: str,
        properties: Mapping[str, Any],
        *,
        merge: bool = True,
        expected_version: int | None = None,
    ) -> Element:
        """Merge into or replace the harvested properties; StaleVersion if `expected_version` is not current."""

    @abc.abstractmethod
    def curate_element(self, guid: str, properties: Mapping[str, Any], *, curator: str) -> Element:
        """Record a person's edits to any element, whoever owns it; they win over harvested properties from
        then on. Why not owner-only: curation is how a steward corrects what a connector harvests, so it is
        outside the connectors' ownership; instead every curated property records its `curator` (the
        person's user id, required) and time in `Element.curations`. Connectors cannot curate (no context
        offers it), so the owner's harvest is never overridden by another connector."""

    @abc.abstractmethod
    def archive_element(self, guid: str) -> Element:
        """Soft-delete (restorable); its relationships stay but are hidden from retrieval of active instances."""

    @abc.abstractmethod
    def restore_element(self, guid: str) -> Element: ...

    @abc.abstractmethod
    def delete_element(self, guid: str) -> None:
        """Purge the element and its relationships."""

    @abc.abstractmethod
    def classify_element(self, guid: str, classification: str, properties: Mapping[str, Any] | None = None) -> Element:
        """Add or replace (reclassify) a classification; NotOwner unless the actor owns the element.

        Why owner-only, governance classifications (SecurityTags, Confidentiality) included: in Egeria's
        model metadata another source owns is read-only to everyone else, and a classification may come
        from a different source only with the owner's permission. So a connector classifies only its own
        elements, and another connector cannot hide or loosen a tag the owner set.
        """

    @abc.abstractmethod
    def declassify_element(self, guid: str, classification: str) -> Element:
        """Remove a classification; NotOwner unless the actor owns the element (as `classify_element`)."""

    @abc.abstractmethod
    def publish_element(self, guid: str, zones: Sequence[str]) -> Element:
        """Add the zones to the element's zone membership."""

    @abc.abstractmethod
    def withdraw_element(self, guid: str, zones: Sequence[str] | None = None) -> Element:
        """Remove the zones (all when None) from the element's zone membership."""

    @abc.abstractmethod
    def archive_unobserved(
        self,
        *,
        type_names: Sequence[str],
        scope_prefix: str | None = None,
        max_archive_percent: int = 50,
        dry_run: bool = False,
    ) -> list[Element]:
        """Deletion detection: archive the actor's active elements of these types (and, when given, whose
        qualified name starts with `scope_prefix`) that this transaction did not observe (create/upsert/
        update/mark_observed). Refuses with DeletionFailSafe (carrying the numbers) above `max_archive_percent`
        of those elements, archiving nothing and leaving the transaction usable: the caller decides whether
        the rest of the work commits. `dry_run` returns what would go and archives nothing. Counts `archived`
        or `would_archive`."""

    @abc.abstractmethod
    def mark_observed(self, guid: str) -> None:
        """Record that the refresh saw this element without changing it."""

    @abc.abstractmethod
    def abort(self) -> None:
        """From any thread: roll back now and give the connection (and its locks) back to the database.

        Why: a refresh that hangs past its timeout is abandoned, but its thread cannot be stopped; without
        this its open transaction would block every later writer. Every later call of the transaction, and
        its commit, raise TransactionAborted.
        """

    @abc.abstractmethod
    def mark_observed_by_names(self, qualified_names: Iterable[str]) -> list[str]:
        """`mark_observed` for every active element the actor owns with one of these qualified names, in one
        call; returns the names that matched no such element. Why: a connector that knows a whole subtree is
        unchanged (a table whose definition digest matches) tells deletion detection without an upsert each."""

    # --- relationships --------------------------------------------------------------------------------------
    @abc.abstractmethod
    def create_relationship(
        self, type_name: str, end1_guid: str, end2_guid: str, properties: Mapping[str, Any] | None = None
    ) -> Relationship: ...

    @abc.abstractmethod
    def upsert_relationship(
        self, type_name: str, end1_guid: str, end2_guid: str, properties: Mapping[str, Any] | None = None
    ) -> tuple[Relationship, ChangeKind]:
        """One relationship of a type between two ends: create it, update its properties, or leave it."""

    @abc.abstractmethod
    def upsert_relationships(
        self, upserts: Iterable[tuple[str, str, str, Mapping[str, Any] | None]]
    ) -> list[tuple[str, ChangeKind]]:
        """`upsert_relationship` for each (type name, end 1 GUID, end 2 GUID, properties), in order; returns each
        one's GUID and change (see `upsert_elements` for why)."""

    @abc.abstractmethod
    def update_relationship(self, guid: str, properties: Mapping[str, Any], *, merge: bool = True) -> Relationship: ...

    @abc.abstractmethod
    def delete_relationship(self, guid: str) -> None: ...

    # --- retrieval (active instances unless include_archived) -----------------------------------------------
    @abc.abstractmethod
    def get_element(self, guid: str, *, include_archived: bool = False) -> Element:
        """ElementNotFound if absent."""

    @abc.abstractmethod
    def find_element_by_name(self, qualified_name: str, *, include_archived: bool = False) -> Element | None: ...

    @abc.abstractmethod
    def find_elements(
        self,
        *,
        search_string: str | None = None,
        type_name: str | None = None,
        metadata_collection: str | None = None,
        zone: str | None = None,
        classification: str | None = None,
        include_subtypes: bool = True,
        include_archived: bool = False,
        page: Page | None = None,
    ) -> list[Element]:
        """Case-insensitive substring search on qualified name, name, displayName and description; all filters AND.
        `classification` keeps the elements that carry a classification of that name."""

    @abc.abstractmethod
    def get_relationships(
        self, guid: str, *, type_name: str | None = None, page: Page | None = None
    ) -> list[Relationship]: ...

    @abc.abstractmethod
    def get_related_elements(
        self,
        guid: str,
        *,
        relationship_type: str | None = None,
        at_end: int | None = None,
        page: Page | None = None,
    ) -> list[Element]:
        """Elements at the other end of guid's relationships; `at_end` (1 or 2) picks the end guid must be at."""


class MetadataRepository(abc.ABC):
    """A repository opened from a URL (`sqlite:///path.db`, `postgresql://...`); thread-safe."""

    url: str

    @abc.abstractmethod
    def transaction(self, *, actor: str, refresh_id: str | None = None) -> AbstractContextManager[Transaction]:
        """One atomic unit of work by `actor`. Events are published only after commit."""

    @abc.abstractmethod
    def reader(self) -> AbstractContextManager[Transaction]:
        """A read-only unit of work for readers that write nothing (the catalogue API): its retrieval methods
        only, always rolled back. Why not `transaction`: on SQLite a transaction takes the write lock at once,
        so every read would queue behind (and hold up) the connectors' refreshes."""

    @abc.abstractmethod
    def register_listener(self, listener: EventListener, *, from_sequence: int | None = None) -> Callable[[], None]:
        """Deliver every committed event, in order, to `listener` (on a repository thread); returns an
        unregister function. With `from_sequence`, replay from there first (resume after a disconnect)."""

    @abc.abstractmethod
    def events_since(self, sequence: int, *, limit: int = 1000) -> Iterator[ChangeEvent]:
        """Committed events with a sequence greater than `sequence`, in order."""

    @abc.abstractmethod
    def head_sequence(self) -> int:
        """The sequence of the last committed event (0 when there is none): where `events_since` resumes."""

    @abc.abstractmethod
    def first_sequence(self) -> int | None:
        """The sequence of the oldest event the out topic still holds (None when it holds none). A reader whose
        last processed sequence is below `first_sequence() - 1` may have missed pruned events."""

    @abc.abstractmethod
    def prune_events(self, before_sequence: int) -> int:
        """Delete the events with a sequence below `before_sequence`, never the last one (so `head_sequence` and
        `first_sequence` keep telling a reader how far it is behind); returns how many were deleted."""

    @abc.abstractmethod
    def close(self) -> None: ...
