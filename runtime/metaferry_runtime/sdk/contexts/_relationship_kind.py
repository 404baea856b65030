"""Relationship and classification kinds, and the operations a context may offer over them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from metaferry_runtime.repository import ChangeKind, Element
from metaferry_runtime.sdk.contexts._operation import MAX_PAGE_SIZE, BoundOperation, ContextOperation, page_of


@dataclass(frozen=True)
class RelationshipKind:
    """A relationship type between two kinds of element; `end1`/`end2` name the ends for readers."""

    type_name: str
    end1: str = "end1"
    end2: str = "end2"

    def link(self) -> ContextOperation[LinkElements]:
        return ContextOperation(LinkElements, self)

    def link_many(self) -> ContextOperation[LinkManyElements]:
        return ContextOperation(LinkManyElements, self)

    def unlink(self) -> ContextOperation[UnlinkElements]:
        return ContextOperation(UnlinkElements, self)

    def end2_elements(self) -> ContextOperation[GetEnd2Elements]:
        """Given the GUID at end 1, the elements at end 2 (a folder's files)."""
        return ContextOperation(GetEnd2Elements, self)

    def end1_elements(self) -> ContextOperation[GetEnd1Elements]:
        """Given the GUID at end 2, the elements at end 1 (a file's folder)."""
        return ContextOperation(GetEnd1Elements, self)


class LinkElements(BoundOperation[RelationshipKind]):
    __slots__ = ()

    def __call__(self, end1_guid: str, end2_guid: str, properties: Mapping[str, Any] | None = None) -> str:
        """Link the two elements (idempotent: an existing link gets the new properties); returns its GUID."""
        with self.context.write_transaction(self.action) as transaction:
            relationship, _ = transaction.upsert_relationship(self.kind.type_name, end1_guid, end2_guid, properties)
            return relationship.guid


class LinkManyElements(BoundOperation[RelationshipKind]):
    __slots__ = ()

    def __call__(self, pairs: Sequence[tuple[str, str]]) -> list[tuple[str, ChangeKind]]:
        """`link` for each (end 1 GUID, end 2 GUID), in one call; returns each one's GUID and change, in order.
        Why: as for `upsert_*s`, a connector linking thousands of pairs pays one call and one check."""
        with self.context.write_transaction(self.action) as transaction:
            return transaction.upsert_relationships([(self.kind.type_name, end1, end2, None) for end1, end2 in pairs])


class UnlinkElements(BoundOperation[RelationshipKind]):
    __slots__ = ()

    def __call__(self, end1_guid: str, end2_guid: str) -> None:
        """Delete the relationship between the two elements, if there is one."""
        with self.context.write_transaction(self.action) as transaction:
            for relationship in transaction.get_relationships(
                end1_guid, type_name=self.kind.type_name, page=page_of(0, MAX_PAGE_SIZE)
            ):
                if relationship.end1_guid == end1_guid and relationship.end2_guid == end2_guid:
                    transaction.delete_relationship(relationship.guid)


class GetEnd2Elements(BoundOperation[RelationshipKind]):
    __slots__ = ()

    def __call__(self, guid: str, start_from: int = 0, page_size: int = 0) -> list[Element]:
        """The elements at end 2 of this relationship type from the element at end 1."""
        with self.context.read_transaction() as transaction:
            return transaction.get_related_elements(
                guid, relationship_type=self.kind.type_name, at_end=1, page=page_of(start_from, page_size)
            )


class GetEnd1Elements(BoundOperation[RelationshipKind]):
    __slots__ = ()

    def __call__(self, guid: str, start_from: int = 0, page_size: int = 0) -> list[Element]:
        """The elements at end 1 of this relationship type from the element at end 2."""
        with self.context.read_transaction() as transaction:
            return transaction.get_related_elements(
                guid, relationship_type=self.kind.type_name, at_end=2, page=page_of(start_from, page_size)
            )


@dataclass(frozen=True)
class ClassificationKind:
    """A classification (PrimaryKey, Confidentiality...) a service sets on and clears from elements.

    The rules of an update apply: permitted synchronization must let the connector write, and only the
    element's owner may set or clear its classifications (the repository refuses others with NotOwner), so
    one connector cannot loosen the governance tags another source set on its own elements.
    """

    name: str

    def set(self) -> ContextOperation[Classify]:
        return ContextOperation(Classify, self)

    def clear(self) -> ContextOperation[Declassify]:
        return ContextOperation(Declassify, self)


class Classify(BoundOperation[ClassificationKind]):
    __slots__ = ()

    def __call__(self, guid: str, properties: Mapping[str, Any] | None = None) -> Element:
        """Add the classification, or replace its properties when the element has it already."""
        with self.context.write_transaction(self.action) as transaction:
            return transaction.classify_element(guid, self.kind.name, properties)


class Declassify(BoundOperation[ClassificationKind]):
    __slots__ = ()

    def __call__(self, guid: str) -> Element:
        """Remove the classification from the element."""
        with self.context.write_transaction(self.action) as transaction:
            return transaction.declassify_element(guid, self.kind.name)
