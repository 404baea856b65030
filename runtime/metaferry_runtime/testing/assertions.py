"""What a connector test asks of the repository after a refresh, phrased as the test would say it.

Reads go through a transaction of a reader that owns nothing, so they see only what was committed, the way
another connector or a user would see it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from metaferry_runtime.repository import ChangeKind, Element, Page, Relationship
from metaferry_runtime.testing.harness import ConnectorHarness

READER = "metaferry-testing/reader"
_PAGE = 10_000


@dataclass(frozen=True)
class RefreshChanges:
    """Qualified names of the elements one refresh created, updated, archived and restored."""

    created: frozenset[str]
    updated: frozenset[str]
    archived: frozenset[str]
    restored: frozenset[str]

    @property
    def nothing(self) -> bool:
        return not (self.created or self.updated or self.archived or self.restored)


def element_named(harness: ConnectorHarness[Any], qualified_name: str) -> Element:
    """The active element with this qualified name; AssertionError if there is none."""
    with harness.repository.transaction(actor=READER) as transaction:
        found = transaction.find_element_by_name(qualified_name)
    assert found is not None, f"no active element is named {qualified_name!r}"
    return found


def elements_under(harness: ConnectorHarness[Any], type_name: str, prefix: str = "") -> dict[str, Element]:
    """Active elements of `type_name` (and its subtypes) whose qualified name starts with `prefix`, by name."""
    found: dict[str, Element] = {}
    start = 0
    with harness.repository.transaction(actor=READER) as transaction:
        while True:
            page = transaction.find_elements(type_name=type_name, page=Page(start_from=start, page_size=_PAGE))
            found.update({e.qualified_name: e for e in page if e.qualified_name.startswith(prefix)})
            if len(page) < _PAGE:
                return found
            start += _PAGE


def relationships_between(
    harness: ConnectorHarness[Any], end1: str, end2: str, *, type_name: str | None = None
) -> list[Relationship]:
    """Relationships from the element named `end1` (at end 1) to the one named `end2` (at end 2)."""
    first, second = element_named(harness, end1), element_named(harness, end2)
    with harness.repository.transaction(actor=READER) as transaction:
        relationships = transaction.get_relationships(first.guid, type_name=type_name, page=Page(page_size=_PAGE))
    return [r for r in relationships if r.end1_guid == first.guid and r.end2_guid == second.guid]


def last_refresh_changes(harness: ConnectorHarness[Any]) -> RefreshChanges:
    """What the harness's last refresh did to elements, read from the out-topic events it published."""

    def named(kind: ChangeKind) -> frozenset[str]:
        return frozenset(harness.changed(kind.value))

    return RefreshChanges(
        created=named(ChangeKind.ELEMENT_CREATED),
        updated=named(ChangeKind.ELEMENT_UPDATED),
        archived=named(ChangeKind.ELEMENT_ARCHIVED),
        restored=named(ChangeKind.ELEMENT_RESTORED),
    )


def assert_refresh_writes_nothing(harness: ConnectorHarness[Any]) -> None:
    """Refresh once more and fail, saying what was written, if it created, updated or archived anything or
    published an event. Call it after a refresh, with the source unchanged since."""
    counts = harness.refresh()
    written = {
        name: value
        for name, value in counts.model_dump().items()
        if name not in ("unchanged", "would_archive") and value
    }
    kinds = sorted({event.kind.value for event in harness.last_events})
    assert not written and not harness.last_events, (
        f"a refresh with no change in the source wrote {written or 'no counted change'} and published"
        f" {len(harness.last_events)} events ({', '.join(kinds) or 'none'}): {describe_events(harness)}"
    )


def describe_events(harness: ConnectorHarness[Any], limit: int = 5) -> str:
    """The first events of the last refresh, as `KIND qualified-name`, for assertion messages."""
    shown = []
    for event in harness.last_events[:limit]:
        relationship = event.relationship.type_name if event.relationship else ""
        shown.append(f"{event.kind.value} {event.element.qualified_name if event.element else relationship}")
    more = len(harness.last_events) - limit
    return "; ".join(shown) + (f" and {more} more" if more > 0 else "")
