"""Egeria's per-service context methods, written once and bound to each service's element types.

Egeria's twelve integrator contexts repeat the same methods for every element type they manage (create,
update, publish, withdraw, remove, find, get by name, get mine, get by GUID) and the same link, unlink and
navigate methods for every relationship. Here a service module declares its types once, as `ElementKind`,
`RelationshipKind` and `ClassificationKind` values, and assigns the operations it offers to Egeria-named
class attributes:

    DATA_FILE = ElementKind("DataFile", is_asset=True)

    class FilesIntegratorContext(ElementContext):
        create_data_file = DATA_FILE.create()
        find_data_files = DATA_FILE.find()

Each operation is a descriptor: read from a context it gives a callable bound to that context, typed by a
Protocol below, so connector code is type-checked like hand-written methods. The implementations hold the
rules every service shares: writes pass `_check_writable` (permitted synchronization) and run in the
context's transaction (the refresh's, on the refresh thread); reads pass `_check_usable`; retrieval by GUID
checks the element is of the kind asked for; `remove_*` archives unless asked to purge.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, Protocol, Self, TypeVar, cast, overload

from metaferry_runtime.audit import AuditMessage, RuntimeMessages
from metaferry_runtime.repository import (
    ChangeKind,
    DeletionFailSafe,
    Element,
    ElementNotFound,
    FailSafeRefusal,
    Page,
    Transaction,
    TypeErrorInRepository,
)
from metaferry_runtime.repository.interface import UpsertItem
from metaferry_runtime.repository.types import TypeRegistry, default_registry
from metaferry_runtime.sdk.context import IntegrationContext

#: Zones an asset joins when published (Egeria's publishZones) and leaves when withdrawn.
DEFAULT_PUBLISHED_ZONES: tuple[str, ...] = ("published",)
#: The largest page a retrieval returns when the caller asks for "everything" (page_size 0, as in Egeria).
MAX_PAGE_SIZE = 10_000


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

    @contextmanager
    def _writing(self, action: str) -> Iterator[Transaction]:
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

    def _joined_writer(self, action: str) -> Transaction | None:
        """`_writing` for the per-element hot path: the joined transaction after the permitted-synchronization
        check, or None when the caller must open one with `_writing`. Why: even one generator-based context
        manager per upsert costs a tenth of an unchanged upsert on a 20,000-file refresh."""
        self._check_writable(action)
        return self._joined_transaction()

    #: Reads join this thread's transaction like writes, without the permitted-synchronization check.
    _reading = IntegrationContext._transaction

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
        with self._writing("archive elements that disappeared") as transaction:
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
        with self._writing("mark an element observed") as transaction:
            transaction.mark_observed(guid)

    def mark_observed_by_names(self, qualified_names: Iterable[str]) -> list[str]:
        """`mark_observed` for many elements this connector owns, by qualified name, in one call; returns the
        names that matched none (so the connector can catalogue those again). For a connector that knows a
        subtree is unchanged without upserting it (a table whose definition digest matches)."""
        with self._writing("mark elements observed") as transaction:
            return transaction.mark_observed_by_names(qualified_names)


ContextT = TypeVar("ContextT", bound=ElementContext)


def page_of(start_from: int, page_size: int) -> Page:
    """Egeria's paging: page_size 0 means as many as allowed."""
    return Page(start_from=start_from, page_size=page_size if page_size > 0 else MAX_PAGE_SIZE)


# --- the operation descriptor -------------------------------------------------------------------------------
OperationT = TypeVar("OperationT")


class ContextOperation(Generic[OperationT]):
    """A class attribute that, read from a context instance, is the operation bound to that context.

    The attribute's name (`create_data_file`) becomes the action named in refusals, so a
    SynchronizationNotPermitted says which call was refused.
    """

    def __init__(self, implementation: Callable[..., Any], action: str) -> None:
        self._implementation = implementation
        self._action = action
        self.__doc__ = implementation.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self._action = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> Self: ...

    @overload
    def __get__(self, instance: ElementContext, owner: type | None = None) -> OperationT: ...

    def __get__(self, instance: ElementContext | None, owner: type | None = None) -> Self | OperationT:
        if instance is None:
            return self
        bound = functools.partial(self._implementation, instance, self._action)
        return cast(OperationT, bound)


# --- the signatures connector code sees ---------------------------------------------------------------------
class CreateElement(Protocol):
    def __call__(
        self,
        qualified_name: str,
        properties: Mapping[str, Any] | None = None,
        *,
        type_name: str | None = None,
        parent_guid: str | None = None,
        classifications: Mapping[str, Mapping[str, Any]] | None = None,
        zones: Sequence[str] | None = None,
    ) -> str: ...


class UpsertElement(Protocol):
    def __call__(
        self,
        qualified_name: str,
        properties: Mapping[str, Any] | None = None,
        *,
        type_name: str | None = None,
        parent_guid: str | None = None,
    ) -> tuple[Element, ChangeKind]: ...


class ElementUpsert(NamedTuple):
    """One element for an `upsert_*s` operation: the arguments of `upsert_*`, as a value."""

    qualified_name: str
    properties: Mapping[str, Any]
    type_name: str | None = None
    #: Classifications (name -> properties) the element gets if this upsert creates it; an existing
    #: element's are changed only by the classification operations (`set_*` / `remove_*`).
    classifications: Mapping[str, Mapping[str, Any]] | None = None


class UpsertElements(Protocol):
    def __call__(
        self, upserts: Sequence[ElementUpsert], *, parent_guid: str | None = None
    ) -> list[tuple[str, ChangeKind]]: ...


class UpdateElement(Protocol):
    def __call__(
        self,
        guid: str,
        properties: Mapping[str, Any],
        *,
        is_merge_update: bool = True,
        expected_version: int | None = None,
    ) -> Element: ...


class ChangeZones(Protocol):
    def __call__(self, guid: str, zones: Sequence[str] | None = None) -> Element: ...


class RemoveElement(Protocol):
    def __call__(self, guid: str, *, purge: bool = False) -> None: ...


class FindElements(Protocol):
    def __call__(self, search_string: str | None = None, start_from: int = 0, page_size: int = 0) -> list[Element]: ...


class GetElementsByName(Protocol):
    def __call__(self, name: str, start_from: int = 0, page_size: int = 0) -> list[Element]: ...


class GetMyElements(Protocol):
    def __call__(self, start_from: int = 0, page_size: int = 0) -> list[Element]: ...


class GetElementByGuid(Protocol):
    def __call__(self, guid: str) -> Element: ...


class GetElementByQualifiedName(Protocol):
    def __call__(self, qualified_name: str) -> Element | None: ...


class LinkElements(Protocol):
    def __call__(self, end1_guid: str, end2_guid: str, properties: Mapping[str, Any] | None = None) -> str: ...


class LinkManyElements(Protocol):
    def __call__(self, pairs: Sequence[tuple[str, str]]) -> list[tuple[str, ChangeKind]]: ...


class UnlinkElements(Protocol):
    def __call__(self, end1_guid: str, end2_guid: str) -> None: ...


class GetLinkedElements(Protocol):
    def __call__(self, guid: str, start_from: int = 0, page_size: int = 0) -> list[Element]: ...


class Classify(Protocol):
    def __call__(self, guid: str, properties: Mapping[str, Any] | None = None) -> Element: ...


class Declassify(Protocol):
    def __call__(self, guid: str) -> Element: ...


# --- element kinds ------------------------------------------------------------------------------------------
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


@dataclass(frozen=True)
class ElementKind:
    """One element type a service manages; its properties give the operations a context may expose."""

    type_name: str
    is_asset: bool = False
    parent: ParentLink | None = None

    # Operations, assigned to Egeria-named attributes of a context class.
    def create(self) -> ContextOperation[CreateElement]:
        return ContextOperation(self._create, f"create {self.type_name}")

    def upsert(self) -> ContextOperation[UpsertElement]:
        return ContextOperation(self._upsert, f"upsert {self.type_name}")

    def upsert_many(self) -> ContextOperation[UpsertElements]:
        return ContextOperation(self._upsert_many, f"upsert {self.type_name} elements")

    def update(self) -> ContextOperation[UpdateElement]:
        return ContextOperation(self._update, f"update {self.type_name}")

    def publish(self) -> ContextOperation[ChangeZones]:
        self._require_asset("publish")
        return ContextOperation(self._publish, f"publish {self.type_name}")

    def withdraw(self) -> ContextOperation[ChangeZones]:
        self._require_asset("withdraw")
        return ContextOperation(self._withdraw, f"withdraw {self.type_name}")

    def remove(self) -> ContextOperation[RemoveElement]:
        return ContextOperation(self._remove, f"remove {self.type_name}")

    def find(self) -> ContextOperation[FindElements]:
        return ContextOperation(self._find, f"find {self.type_name}")

    def get_by_name(self) -> ContextOperation[GetElementsByName]:
        return ContextOperation(self._get_by_name, f"get {self.type_name} by name")

    def get_mine(self) -> ContextOperation[GetMyElements]:
        return ContextOperation(self._get_mine, f"get my {self.type_name}")

    def get_by_guid(self) -> ContextOperation[GetElementByGuid]:
        return ContextOperation(self._get_by_guid, f"get {self.type_name} by guid")

    def get_by_qualified_name(self) -> ContextOperation[GetElementByQualifiedName]:
        return ContextOperation(self._get_by_qualified_name, f"get {self.type_name} by qualified name")

    def children(self) -> ContextOperation[GetLinkedElements]:
        """Given the parent's GUID, the elements of this kind linked under it."""
        return ContextOperation(self._children, f"get {self.type_name} of parent")

    # Implementations: (context, action, *caller's arguments).
    def _create(
        self,
        context: ElementContext,
        action: str,
        qualified_name: str,
        properties: Mapping[str, Any] | None = None,
        *,
        type_name: str | None = None,
        parent_guid: str | None = None,
        classifications: Mapping[str, Mapping[str, Any]] | None = None,
        zones: Sequence[str] | None = None,
    ) -> str:
        """Create the element, owned by this connector's metadata source; returns its GUID."""
        element_type = self._subtype(context, type_name)
        with context._writing(action) as transaction:
            element = transaction.create_element(
                element_type, qualified_name, dict(properties or {}), classifications=classifications, zones=zones
            )
            if parent_guid is not None:
                self._link_to_parent(transaction, parent_guid, [element.guid])
            return element.guid

    def _upsert(
        self,
        context: ElementContext,
        action: str,
        qualified_name: str,
        properties: Mapping[str, Any] | None = None,
        *,
        type_name: str | None = None,
        parent_guid: str | None = None,
    ) -> tuple[Element, ChangeKind]:
        """Create, update or leave the element with this qualified name; marks it observed for this refresh."""
        element_type = self._subtype(context, type_name)
        joined = context._joined_writer(action)
        if joined is not None:  # inside a refresh or change batch: no context manager per element
            return self._upsert_in(joined, element_type, qualified_name, properties, parent_guid)
        with context._writing(action) as transaction:
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
            self._link_to_parent(transaction, parent_guid, [element.guid])
        return element, change

    def _upsert_many(
        self,
        context: ElementContext,
        action: str,
        upserts: Sequence[ElementUpsert],
        *,
        parent_guid: str | None = None,
    ) -> list[tuple[str, ChangeKind]]:
        """`_upsert` for each element, in one call; returns each one's GUID and change, in order. With
        parent_guid, those created, updated or restored are linked to the parent. Why: for a connector that
        catalogs many elements at once (a directory's files), a call, a permission check and an Element model
        per element cost more than the upsert itself."""
        with context._writing(action) as transaction:
            subtypes: dict[str | None, str] = {}
            items: list[UpsertItem] = []
            for upsert in upserts:
                element_type = subtypes.get(upsert.type_name)
                if element_type is None:
                    element_type = subtypes[upsert.type_name] = self._subtype(context, upsert.type_name)
                if upsert.classifications:
                    items.append((element_type, upsert.qualified_name, upsert.properties, upsert.classifications))
                else:
                    items.append((element_type, upsert.qualified_name, upsert.properties))
            results = transaction.upsert_elements(items)
            if parent_guid is not None:
                changed = [guid for guid, change in results if change is not ChangeKind.UNCHANGED]
                self._link_to_parent(transaction, parent_guid, changed)
        return results

    def _update(
        self,
        context: ElementContext,
        action: str,
        guid: str,
        properties: Mapping[str, Any],
        *,
        is_merge_update: bool = True,
        expected_version: int | None = None,
    ) -> Element:
        """Merge the properties into the element's (or replace them when is_merge_update is False)."""
        with context._writing(action) as transaction:
            self._checked(context, transaction, guid)
            return transaction.update_element(
                guid, properties, merge=is_merge_update, expected_version=expected_version
            )

    def _publish(self, context: ElementContext, action: str, guid: str, zones: Sequence[str] | None = None) -> Element:
        """Add the asset to the published zones, so consumers that see those zones find it."""
        with context._writing(action) as transaction:
            self._checked(context, transaction, guid)
            return transaction.publish_element(guid, list(zones or context.published_zones))

    def _withdraw(self, context: ElementContext, action: str, guid: str, zones: Sequence[str] | None = None) -> Element:
        """Take the asset out of the published zones (or the zones named)."""
        with context._writing(action) as transaction:
            self._checked(context, transaction, guid)
            return transaction.withdraw_element(guid, list(zones or context.published_zones))

    def _remove(self, context: ElementContext, action: str, guid: str, *, purge: bool = False) -> None:
        """Archive the element (restorable); with purge, delete it and its relationships for good."""
        with context._writing(action) as transaction:
            self._checked(context, transaction, guid)
            if purge:
                transaction.delete_element(guid)
            else:
                transaction.archive_element(guid)

    def _find(
        self,
        context: ElementContext,
        action: str,
        search_string: str | None = None,
        start_from: int = 0,
        page_size: int = 0,
    ) -> list[Element]:
        """Elements of this kind whose qualified name, name, display name or description contain the string."""
        with context._reading() as transaction:
            return transaction.find_elements(
                search_string=search_string or None, type_name=self.type_name, page=page_of(start_from, page_size)
            )

    def _get_by_name(
        self, context: ElementContext, action: str, name: str, start_from: int = 0, page_size: int = 0
    ) -> list[Element]:
        """Elements of this kind whose qualified name, name or display name is exactly `name`."""
        with context._reading() as transaction:
            matches: dict[str, Element] = {}
            exact = transaction.find_element_by_name(name)
            if exact is not None and context.is_type_of(exact.type_name, self.type_name):
                matches[exact.guid] = exact
            for element in transaction.find_elements(
                search_string=name, type_name=self.type_name, page=page_of(0, MAX_PAGE_SIZE)
            ):
                shown = element.effective_properties
                if name in (element.qualified_name, shown.get("name"), shown.get("displayName")):
                    matches.setdefault(element.guid, element)
        found = list(matches.values())
        return found[start_from : start_from + page_size] if page_size > 0 else found[start_from:]

    def _get_mine(self, context: ElementContext, action: str, start_from: int = 0, page_size: int = 0) -> list[Element]:
        """Elements of this kind that this connector's metadata source owns."""
        with context._reading() as transaction:
            return transaction.find_elements(
                type_name=self.type_name,
                metadata_collection=context._metadata_source,
                page=page_of(start_from, page_size),
            )

    def _get_by_guid(self, context: ElementContext, action: str, guid: str) -> Element:
        """The element; ElementNotFound when it is absent, archived or of another kind."""
        with context._reading() as transaction:
            return self._checked(context, transaction, guid)

    def _get_by_qualified_name(self, context: ElementContext, action: str, qualified_name: str) -> Element | None:
        """The active element of this kind with that qualified name, or None."""
        with context._reading() as transaction:
            element = transaction.find_element_by_name(qualified_name)
        if element is None or not context.is_type_of(element.type_name, self.type_name):
            return None
        return element

    # Shared rules.
    def _subtype(self, context: ElementContext, type_name: str | None) -> str:
        if type_name is None:
            return self.type_name
        if not context.is_type_of(type_name, self.type_name):
            raise TypeErrorInRepository(f"{type_name} is not a {self.type_name}, so it cannot be managed as one")
        return type_name

    def _checked(self, context: ElementContext, transaction: Transaction, guid: str) -> Element:
        element = transaction.get_element(guid)
        if not context.is_type_of(element.type_name, self.type_name):
            raise ElementNotFound(f"{guid} is a {element.type_name}, not a {self.type_name}")
        return element

    def _link_to_parent(self, transaction: Transaction, parent_guid: str, child_guids: Sequence[str]) -> None:
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

    def _children(
        self, context: ElementContext, action: str, parent_guid: str, start_from: int = 0, page_size: int = 0
    ) -> list[Element]:
        """The elements of this kind hanging off the parent (a schema's tables, a topic's event types)."""
        if self.parent is None:
            raise TypeErrorInRepository(f"{self.type_name} has no parent relationship")
        with context._reading() as transaction:
            anchor: str | None = parent_guid
            if self.parent.via_schema_type is not None:
                anchor = _find_schema_type(transaction, parent_guid, self.parent.via_schema_type)
            if anchor is None:
                return []
            related = transaction.get_related_elements(
                anchor,
                relationship_type=self.parent.relationship,
                at_end=self.parent.parent_at_end,
                page=page_of(0, MAX_PAGE_SIZE),
            )
        children = [element for element in related if context.is_type_of(element.type_name, self.type_name)]
        return children[start_from : start_from + page_size] if page_size > 0 else children[start_from:]

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


# --- relationships and classifications ----------------------------------------------------------------------
@dataclass(frozen=True)
class RelationshipKind:
    """A relationship type between two kinds of element; `end1`/`end2` name the ends for readers."""

    type_name: str
    end1: str = "end1"
    end2: str = "end2"

    def link(self) -> ContextOperation[LinkElements]:
        return ContextOperation(self._link, f"link {self.end1} to {self.end2} by {self.type_name}")

    def link_many(self) -> ContextOperation[LinkManyElements]:
        return ContextOperation(self._link_many, f"link many {self.end1} to {self.end2} by {self.type_name}")

    def unlink(self) -> ContextOperation[UnlinkElements]:
        return ContextOperation(self._unlink, f"unlink {self.end1} from {self.end2} ({self.type_name})")

    def end2_elements(self) -> ContextOperation[GetLinkedElements]:
        """Given the GUID at end 1, the elements at end 2 (a folder's files)."""
        return ContextOperation(self._end2_elements, f"get {self.end2} of {self.end1}")

    def end1_elements(self) -> ContextOperation[GetLinkedElements]:
        """Given the GUID at end 2, the elements at end 1 (a file's folder)."""
        return ContextOperation(self._end1_elements, f"get {self.end1} of {self.end2}")

    def _link(
        self,
        context: ElementContext,
        action: str,
        end1_guid: str,
        end2_guid: str,
        properties: Mapping[str, Any] | None = None,
    ) -> str:
        """Link the two elements (idempotent: an existing link gets the new properties); returns its GUID."""
        with context._writing(action) as transaction:
            relationship, _ = transaction.upsert_relationship(self.type_name, end1_guid, end2_guid, properties)
            return relationship.guid

    def _link_many(
        self, context: ElementContext, action: str, pairs: Sequence[tuple[str, str]]
    ) -> list[tuple[str, ChangeKind]]:
        """`link` for each (end 1 GUID, end 2 GUID), in one call; returns each one's GUID and change, in order.
        Why: as for `upsert_*s`, a connector linking thousands of pairs pays one call and one check."""
        with context._writing(action) as transaction:
            return transaction.upsert_relationships([(self.type_name, end1, end2, None) for end1, end2 in pairs])

    def _unlink(self, context: ElementContext, action: str, end1_guid: str, end2_guid: str) -> None:
        """Delete the relationship between the two elements, if there is one."""
        with context._writing(action) as transaction:
            for relationship in transaction.get_relationships(
                end1_guid, type_name=self.type_name, page=page_of(0, MAX_PAGE_SIZE)
            ):
                if relationship.end1_guid == end1_guid and relationship.end2_guid == end2_guid:
                    transaction.delete_relationship(relationship.guid)

    def _end2_elements(
        self, context: ElementContext, action: str, guid: str, start_from: int = 0, page_size: int = 0
    ) -> list[Element]:
        with context._reading() as transaction:
            return transaction.get_related_elements(
                guid, relationship_type=self.type_name, at_end=1, page=page_of(start_from, page_size)
            )

    def _end1_elements(
        self, context: ElementContext, action: str, guid: str, start_from: int = 0, page_size: int = 0
    ) -> list[Element]:
        with context._reading() as transaction:
            return transaction.get_related_elements(
                guid, relationship_type=self.type_name, at_end=2, page=page_of(start_from, page_size)
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
        return ContextOperation(self._set, f"classify as {self.name}")

    def clear(self) -> ContextOperation[Declassify]:
        return ContextOperation(self._clear, f"remove classification {self.name}")

    def _set(
        self, context: ElementContext, action: str, guid: str, properties: Mapping[str, Any] | None = None
    ) -> Element:
        """Add the classification, or replace its properties when the element has it already."""
        with context._writing(action) as transaction:
            return transaction.classify_element(guid, self.name, properties)

    def _clear(self, context: ElementContext, action: str, guid: str) -> Element:
        with context._writing(action) as transaction:
            return transaction.declassify_element(guid, self.name)
