"""Element kinds: one element type a service manages, and the operations a context may offer over it.

`DATA_FILE = ElementKind("DataFile", is_asset=True)` declares the kind; `DATA_FILE.create()` is the
operation a context class assigns to `create_data_file`. The operations hold the rules every service
shares: writes pass the permitted-synchronization check and join the context's transaction (the
refresh's, on the refresh thread); retrieval by GUID checks the element is of the kind asked for;
`remove_*` archives unless asked to purge.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from metaferry_runtime.repository import ChangeKind, Element, ElementNotFound, Transaction, TypeErrorInRepository
from metaferry_runtime.repository.interface import UpsertItem
from metaferry_runtime.sdk.contexts._operation import (
    MAX_PAGE_SIZE,
    BoundOperation,
    ContextHooks,
    ContextOperation,
    page_of,
)


@dataclass(frozen=True)
class ParentLink:
    """How a child element hangs off its parent: `create_*(parent_guid=...)` links it.

    With `via_schema_type`, the parent is an asset and the child hangs off the asset's schema type, as in
    Egeria (DeployedAPI -AssetSchemaType-> APISchemaType -APIOperations-> APIOperation); the schema type
    is created on first use, named `<asset qualified name>::<schema type>`, as Egeria's services insert it.
    """

    relationship: str
    parent_at_end: int = 1
    via_schema_type: str | None = None


class ElementUpsert(NamedTuple):
    """One element for an `upsert_*s` operation: the arguments of `upsert_*`, as a value."""

    qualified_name: str
    properties: Mapping[str, Any]
    type_name: str | None = None
    #: Classifications (name -> properties) the element gets if this upsert creates it; an existing
    #: element's are changed only by the classification operations (`set_*` / `remove_*`).
    classifications: Mapping[str, Mapping[str, Any]] | None = None


@dataclass(frozen=True)
class ElementKind:
    """One element type a service manages; its properties give the operations a context may expose."""

    type_name: str
    is_asset: bool = False
    parent: ParentLink | None = None

    # --- the operations, assigned to Egeria-named attributes of a context class ------------------------------
    def create(self) -> ContextOperation[CreateElement]:
        return ContextOperation(CreateElement, self)

    def upsert(self) -> ContextOperation[UpsertElement]:
        return ContextOperation(UpsertElement, self)

    def upsert_many(self) -> ContextOperation[UpsertElements]:
        return ContextOperation(UpsertElements, self)

    def update(self) -> ContextOperation[UpdateElement]:
        return ContextOperation(UpdateElement, self)

    def publish(self) -> ContextOperation[PublishElement]:
        self._require_asset("publish")
        return ContextOperation(PublishElement, self)

    def withdraw(self) -> ContextOperation[WithdrawElement]:
        self._require_asset("withdraw")
        return ContextOperation(WithdrawElement, self)

    def remove(self) -> ContextOperation[RemoveElement]:
        return ContextOperation(RemoveElement, self)

    def find(self) -> ContextOperation[FindElements]:
        return ContextOperation(FindElements, self)

    def get_by_name(self) -> ContextOperation[GetElementsByName]:
        return ContextOperation(GetElementsByName, self)

    def get_mine(self) -> ContextOperation[GetMyElements]:
        return ContextOperation(GetMyElements, self)

    def get_by_guid(self) -> ContextOperation[GetElementByGuid]:
        return ContextOperation(GetElementByGuid, self)

    def get_by_qualified_name(self) -> ContextOperation[GetElementByQualifiedName]:
        return ContextOperation(GetElementByQualifiedName, self)

    def children(self) -> ContextOperation[GetChildElements]:
        """Given the parent's GUID, the elements of this kind linked under it."""
        return ContextOperation(GetChildElements, self)

    # --- the rules the operations share ---------------------------------------------------------------------
    def subtype(self, context: ContextHooks, type_name: str | None) -> str:
        """The type to create: this kind's, or the subtype of it the caller names."""
        if type_name is None:
            return self.type_name
        if not context.is_type_of(type_name, self.type_name):
            raise TypeErrorInRepository(f"{type_name} is not a {self.type_name}, so it cannot be managed as one")
        return type_name

    def checked(self, context: ContextHooks, transaction: Transaction, guid: str) -> Element:
        """The element, refused as not found when it is of another kind."""
        element = transaction.get_element(guid)
        if not context.is_type_of(element.type_name, self.type_name):
            raise ElementNotFound(f"{guid} is a {element.type_name}, not a {self.type_name}")
        return element

    def link_to_parent(self, transaction: Transaction, parent_guid: str, child_guids: Sequence[str]) -> None:
        parent = self.parent
        if parent is None:
            raise TypeErrorInRepository(f"{self.type_name} has no parent relationship, so parent_guid is not accepted")
        if not child_guids:
            return
        anchor = parent_guid
        if parent.via_schema_type is not None:
            anchor = _ensure_schema_type(transaction, parent_guid, parent.via_schema_type)
        relationship = parent.relationship
        if parent.parent_at_end == 1:
            transaction.upsert_relationships([(relationship, anchor, child, None) for child in child_guids])
        else:
            transaction.upsert_relationships([(relationship, child, anchor, None) for child in child_guids])

    def only_mine(self, context: ContextHooks, elements: list[Element]) -> list[Element]:
        return [element for element in elements if context.is_type_of(element.type_name, self.type_name)]

    def _require_asset(self, operation: str) -> None:
        if not self.is_asset:
            raise TypeError(f"{self.type_name} is not an asset, so it has no {operation} operation")


def _find_schema_type(transaction: Transaction, asset_guid: str, schema_type: str) -> str | None:
    """The GUID of the asset's schema type of that type, if it has one."""
    for element in transaction.get_related_elements(
        asset_guid, relationship_type="AssetSchemaType", at_end=1, page=page_of(0, MAX_PAGE_SIZE)
    ):
        if element.type_name == schema_type:
            return element.guid
    return None


def _ensure_schema_type(transaction: Transaction, asset_guid: str, schema_type: str) -> str:
    """The asset's schema type of that type, created and linked by AssetSchemaType when missing."""
    found = _find_schema_type(transaction, asset_guid, schema_type)
    if found is not None:
        return found
    asset = transaction.get_element(asset_guid)
    qualified_name = f"{asset.qualified_name}::{schema_type}"
    existing = transaction.find_element_by_name(qualified_name)
    if existing is not None and existing.metadata_collection != transaction.actor:
        schema_guid = existing.guid
    else:
        schema, _ = transaction.upsert_element(schema_type, qualified_name, {})
        schema_guid = schema.guid
    transaction.upsert_relationship("AssetSchemaType", asset_guid, schema_guid)
    return schema_guid


def _paged(elements: list[Element], start_from: int, page_size: int) -> list[Element]:
    return elements[start_from : start_from + page_size] if page_size > 0 else elements[start_from:]


# --- writes ---------------------------------------------------------------------------------------------------
class CreateElement(BoundOperation[ElementKind]):
    __slots__ = ()

    def __call__(
        self,
        qualified_name: str,
        properties: Mapping[str, Any] | None = None,
        *,
        type_name: str | None = None,
        parent_guid: str | None = None,
        classifications: Mapping[str, Mapping[str, Any]] | None = None,
        zones: Sequence[str] | None = None,
    ) -> str:
        """Create the element, owned by this connector's metadata source; returns its GUID."""
        kind = self.kind
        element_type = kind.subtype(self.context, type_name)
        with self.context.write_transaction(self.action) as transaction:
            element = transaction.create_element(
                element_type, qualified_name, dict(properties or {}), classifications=classifications, zones=zones
            )
            if parent_guid is not None:
                kind.link_to_parent(transaction, parent_guid, [element.guid])
            return element.guid


class UpsertElement(BoundOperation[ElementKind]):
    __slots__ = ()

    def __call__(
        self,
        qualified_name: str,
        properties: Mapping[str, Any] | None = None,
        *,
        type_name: str | None = None,
        parent_guid: str | None = None,
    ) -> tuple[Element, ChangeKind]:
        """Create, update or leave the element with this qualified name; marks it observed for this refresh."""
        element_type = self.kind.subtype(self.context, type_name)
        joined = self.context.joined_write_transaction(self.action)
        if joined is not None:  # inside a refresh or change batch: no context manager per element
            return self._upsert_in(joined, element_type, qualified_name, properties, parent_guid)
        with self.context.write_transaction(self.action) as transaction:
            return self._upsert_in(transaction, element_type, qualified_name, properties, parent_guid)

    def _upsert_in(
        self,
        transaction: Transaction,
        element_type: str,
        qualified_name: str,
        properties: Mapping[str, Any] | None,
        parent_guid: str | None,
    ) -> tuple[Element, ChangeKind]:
        element, change = transaction.upsert_element(element_type, qualified_name, properties or {})
        if parent_guid is not None and change is not ChangeKind.UNCHANGED:
            self.kind.link_to_parent(transaction, parent_guid, [element.guid])
        return element, change


class UpsertElements(BoundOperation[ElementKind]):
    __slots__ = ()

    def __call__(
        self, upserts: Sequence[ElementUpsert], *, parent_guid: str | None = None
    ) -> list[tuple[str, ChangeKind]]:
        """`upsert_*` for each element, in one call; returns each one's GUID and change, in order. With
        parent_guid, those created, updated or restored are linked to the parent. Why: for a connector that
        catalogs many elements at once (a directory's files), a call, a permission check and an Element model
        per element cost more than the upsert itself."""
        kind, context = self.kind, self.context
        with context.write_transaction(self.action) as transaction:
            subtypes: dict[str | None, str] = {}
            items: list[UpsertItem] = []
            for upsert in upserts:
                element_type = subtypes.get(upsert.type_name)
                if element_type is None:
                    element_type = subtypes[upsert.type_name] = kind.subtype(context, upsert.type_name)
                if upsert.classifications:
                    items.append((element_type, upsert.qualified_name, upsert.properties, upsert.classifications))
                else:
                    items.append((element_type, upsert.qualified_name, upsert.properties))
            results = transaction.upsert_elements(items)
            if parent_guid is not None:
                changed = [guid for guid, change in results if change is not ChangeKind.UNCHANGED]
                kind.link_to_parent(transaction, parent_guid, changed)
        return results


class UpdateElement(BoundOperation[ElementKind]):
    __slots__ = ()

    def __call__(
        self,
        guid: str,
        properties: Mapping[str, Any],
        *,
        is_merge_update: bool = True,
        expected_version: int | None = None,
    ) -> Element:
        """Merge the properties into the element's (or replace them when is_merge_update is False)."""
        with self.context.write_transaction(self.action) as transaction:
            self.kind.checked(self.context, transaction, guid)
            return transaction.update_element(
                guid, properties, merge=is_merge_update, expected_version=expected_version
            )


class PublishElement(BoundOperation[ElementKind]):
    __slots__ = ()

    def __call__(self, guid: str, zones: Sequence[str] | None = None) -> Element:
        """Add the asset to the published zones, so consumers that see those zones find it."""
        with self.context.write_transaction(self.action) as transaction:
            self.kind.checked(self.context, transaction, guid)
            return transaction.publish_element(guid, list(zones or self.context.published_zones))


class WithdrawElement(BoundOperation[ElementKind]):
    __slots__ = ()

    def __call__(self, guid: str, zones: Sequence[str] | None = None) -> Element:
        """Take the asset out of the published zones (or the zones named)."""
        with self.context.write_transaction(self.action) as transaction:
            self.kind.checked(self.context, transaction, guid)
            return transaction.withdraw_element(guid, list(zones or self.context.published_zones))


class RemoveElement(BoundOperation[ElementKind]):
    __slots__ = ()

    def __call__(self, guid: str, *, purge: bool = False) -> None:
        """Archive the element (restorable); with purge, delete it and its relationships for good."""
        with self.context.write_transaction(self.action) as transaction:
            self.kind.checked(self.context, transaction, guid)
            if purge:
                transaction.delete_element(guid)
            else:
                transaction.archive_element(guid)


# --- reads ----------------------------------------------------------------------------------------------------
class FindElements(BoundOperation[ElementKind]):
    __slots__ = ()

    def __call__(self, search_string: str | None = None, start_from: int = 0, page_size: int = 0) -> list[Element]:
        """Elements of this kind whose qualified name, name, display name or description contain the string."""
        with self.context.read_transaction() as transaction:
            return transaction.find_elements(
                search_string=search_string or None, type_name=self.kind.type_name, page=page_of(start_from, page_size)
            )


class GetElementsByName(BoundOperation[ElementKind]):
    __slots__ = ()

    def __call__(self, name: str, start_from: int = 0, page_size: int = 0) -> list[Element]:
        """Elements of this kind whose qualified name, name or display name is exactly `name`."""
        type_name = self.kind.type_name
        with self.context.read_transaction() as transaction:
            matches: dict[str, Element] = {}
            exact = transaction.find_element_by_name(name)
            if exact is not None and self.context.is_type_of(exact.type_name, type_name):
                matches[exact.guid] = exact
            for element in transaction.find_elements(
                search_string=name, type_name=type_name, page=page_of(0, MAX_PAGE_SIZE)
            ):
                shown = element.effective_properties
                if name in (element.qualified_name, shown.get("name"), shown.get("displayName")):
                    matches.setdefault(element.guid, element)
        return _paged(list(matches.values()), start_from, page_size)


class GetMyElements(BoundOperation[ElementKind]):
    __slots__ = ()

    def __call__(self, start_from: int = 0, page_size: int = 0) -> list[Element]:
        """Elements of this kind that this connector's metadata source owns."""
        with self.context.read_transaction() as transaction:
            return transaction.find_elements(
                type_name=self.kind.type_name,
                metadata_collection=self.context.get_metadata_source_qualified_name(),
                page=page_of(start_from, page_size),
            )


class GetElementByGuid(BoundOperation[ElementKind]):
    __slots__ = ()

    def __call__(self, guid: str) -> Element:
        """The element; ElementNotFound when it is absent, archived or of another kind."""
        with self.context.read_transaction() as transaction:
            return self.kind.checked(self.context, transaction, guid)


class GetElementByQualifiedName(BoundOperation[ElementKind]):
    __slots__ = ()

    def __call__(self, qualified_name: str) -> Element | None:
        """The active element of this kind with that qualified name, or None."""
        with self.context.read_transaction() as transaction:
            element = transaction.find_element_by_name(qualified_name)
        if element is None or not self.context.is_type_of(element.type_name, self.kind.type_name):
            return None
        return element


class GetChildElements(BoundOperation[ElementKind]):
    __slots__ = ()

    def __call__(self, parent_guid: str, start_from: int = 0, page_size: int = 0) -> list[Element]:
        """The elements of this kind hanging off the parent (a schema's tables, a topic's event types)."""
        parent = self.kind.parent
        if parent is None:
            raise TypeErrorInRepository(f"{self.kind.type_name} has no parent relationship")
        with self.context.read_transaction() as transaction:
            anchor: str | None = parent_guid
            if parent.via_schema_type is not None:
                anchor = _find_schema_type(transaction, parent_guid, parent.via_schema_type)
            if anchor is None:
                return []
            related = transaction.get_related_elements(
                anchor,
                relationship_type=parent.relationship,
                at_end=parent.parent_at_end,
                page=page_of(0, MAX_PAGE_SIZE),
            )
        return _paged(self.kind.only_mine(self.context, related), start_from, page_size)
