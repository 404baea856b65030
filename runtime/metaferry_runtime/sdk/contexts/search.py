"""Search integration service (Egeria's Search Integrator): read-only access to every element.

A search connector feeds an external index (Elasticsearch, a search appliance) from open metadata, so
its context can find and navigate anything but never writes: every write, whatever the resource's
permittedSynchronization, is refused with SynchronizationNotPermitted.
"""

from __future__ import annotations

from metaferry_runtime.repository import Element, Relationship
from metaferry_runtime.sdk.contexts._elements import ElementContext, ElementKind, page_of
from metaferry_runtime.sdk.errors import SynchronizationNotPermitted

ANY_ELEMENT = ElementKind("Referenceable")


class SearchIntegratorContext(ElementContext):
    """Find, fetch and navigate open metadata of every type; write nothing."""

    integration_service = "search"

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

    def _check_writable(self, action: str) -> None:
        self._check_usable()
        raise SynchronizationNotPermitted(
            f"{self.connector_name} may not {action}: the search integration service only reads open metadata"
        )
