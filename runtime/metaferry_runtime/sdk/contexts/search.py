"""Search integration service (Egeria's Search Integrator): read-only access to every element.

A search connector feeds an external index (Elasticsearch, a search appliance) from open metadata, so
its context can find and navigate anything but never writes: every write, whatever the resource's
permittedSynchronization, is refused with SynchronizationNotPermitted.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from metaferry_runtime.repository import Element, Page, Relationship, TypeErrorInRepository
from metaferry_runtime.sdk.contexts._elements import ElementContext, ElementKind, page_of
from metaferry_runtime.sdk.contexts._operation import MAX_PAGE_SIZE
from metaferry_runtime.sdk.errors import SynchronizationNotPermitted

ANY_ELEMENT = ElementKind("Referenceable")


class SearchIntegratorContext(ElementContext):
    """Find, fetch and navigate open metadata of every type; write nothing."""

    integration_service = "search"

    def __init__(self, **arguments: Any) -> None:
        super().__init__(**arguments)
        self._supertypes: dict[str, tuple[str, ...]] = {}

    find_elements = ANY_ELEMENT.find()
    get_elements_by_name = ANY_ELEMENT.get_by_name()
    get_element_by_guid = ANY_ELEMENT.get_by_guid()
    get_element_by_qualified_name = ANY_ELEMENT.get_by_qualified_name()

    def find_elements_of_type(
        self,
        type_name: str,
        search_string: str | None = None,
        start_from: int = 0,
        page_size: int = 0,
        *,
        zone: str | None = None,
    ) -> list[Element]:
        """Elements of the type (and its subtypes) matching the search string, optionally in one zone."""
        with self.read_transaction() as transaction:
            return transaction.find_elements(
                search_string=search_string or None,
                type_name=type_name,
                zone=zone,
                page=page_of(start_from, page_size),
            )

    def get_related_elements(
        self, guid: str, relationship_type: str | None = None, start_from: int = 0, page_size: int = 0
    ) -> list[Element]:
        with self.read_transaction() as transaction:
            return transaction.get_related_elements(
                guid, relationship_type=relationship_type, page=page_of(start_from, page_size)
            )

    def get_relationships(
        self, guid: str, relationship_type: str | None = None, start_from: int = 0, page_size: int = 0
    ) -> list[Relationship]:
        with self.read_transaction() as transaction:
            return transaction.get_relationships(guid, type_name=relationship_type, page=page_of(start_from, page_size))

    def iterate_elements(self, *, page_size: int = 5000) -> Iterator[list[Element]]:
        """Every active element of the repository, a page at a time, read in one read-only unit of work (never
        the writers' lock: a rebuild of a large index must not hold up the connectors' refreshes). On SQLite the
        pages are one snapshot; on PostgreSQL each page is read committed, so a consumer that must miss nothing
        replays the out topic from the head it noted before the first page."""
        self._check_usable()
        page = max(1, min(page_size, MAX_PAGE_SIZE))
        with self._repository.reader() as reader:
            start = 0
            while True:
                self._check_usable()
                found = reader.find_elements(page=Page(start_from=start, page_size=page))
                if found:
                    yield found
                if len(found) < page:
                    return
                start += len(found)

    def supertypes(self, type_name: str) -> tuple[str, ...]:
        """The type followed by its ancestors, nearest first (just the type when the registry does not know it)."""
        known = self._supertypes.get(type_name)
        if known is None:
            try:
                known = self.types.supertypes(type_name)
            except TypeErrorInRepository:
                known = (type_name,)
            self._supertypes[type_name] = known
        return known

    def _check_writable(self, action: str) -> None:
        self._check_usable()
        raise SynchronizationNotPermitted(
            f"{self.connector_name} may not {action}: the search integration service only reads open metadata"
        )
