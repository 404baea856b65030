"""The access document: what open metadata says about access, shaped for Rego authors.

One JSON object with four maps, each keyed by what a policy's input naturally carries:

- `users`: by user id (UserIdentity `userId`, else its qualified name): the groups the user is in;
- `groups`: by the SecurityGroup's qualified name: its name, distinguished name and members (user ids);
- `zones`: by zone name (what assets list in their zone membership): the groups that may access the zone
  for each operation (its SecurityTags `accessGroups`), its security labels;
- `assets`: by qualified name: type, zones, Confidentiality and SecurityTags.

Every entry has every key (empty lists and maps, `null` confidentiality), so a policy never needs a default
for a missing key. The document is read whole from the repository on refresh; after a change to a group,
membership or user only `users` and `groups` are read again (such a change alters entries of both); a
change to an asset or a zone is applied from its event alone, since the event carries the element as it
now is. Either way the
result is compared entry by entry with the document last published, so a change to one asset sends one
JSON-patch operation.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from metaferry_runtime.sdk import ChangeEvent, ChangeKind, Element
from metaferry_runtime.sdk.contexts.security import SecurityIntegratorContext

#: Elements read per call; the repository's largest page.
PAGE_SIZE = 10_000
#: The maps of the document, in the order a patch lists them.
SECTIONS = ("users", "groups", "zones", "assets")
#: Types whose changes make `users` and `groups` be read again (assets and zones are applied from events).
DOCUMENT_TYPES = frozenset({"SecurityGroup", "UserIdentity", "SecurityGroupMembership"})


class _Entry(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class SecurityTagsView(_Entry):
    security_labels: list[str] = Field(default_factory=list)
    security_properties: dict[str, Any] = Field(default_factory=dict)
    access_groups: dict[str, list[str]] = Field(default_factory=dict)


class UserEntry(_Entry):
    guid: str
    qualified_name: str
    distinguished_name: str | None = None
    groups: list[str] = Field(default_factory=list)


class GroupEntry(_Entry):
    guid: str
    name: str | None = None
    distinguished_name: str | None = None
    members: list[str] = Field(default_factory=list)


class ZoneEntry(SecurityTagsView):
    guid: str
    qualified_name: str
    display_name: str | None = None
    description: str | None = None
    criteria: str | None = None


class AssetEntry(SecurityTagsView):
    guid: str
    type_name: str
    name: str | None = None
    zones: list[str] = Field(default_factory=list)
    confidentiality: dict[str, Any] | None = None


Document = dict[str, dict[str, Any]]


def empty_document() -> Document:
    return {section: {} for section in SECTIONS}


def user_key(element: Element) -> str:
    user_id = element.effective_properties.get("userId")
    return user_id if isinstance(user_id, str) and user_id else element.qualified_name


def zone_key(element: Element) -> str:
    name = element.effective_properties.get("name")
    return name if isinstance(name, str) and name else element.qualified_name


def _text(element: Element, key: str) -> str | None:
    value = element.effective_properties.get(key)
    return value if isinstance(value, str) else None


def _security_tags(element: Element) -> dict[str, Any]:
    tags = element.classification("SecurityTags")
    if tags is None:
        return {}
    properties = tags.properties
    access = properties.get("accessGroups") or {}
    return {
        "security_labels": sorted(str(label) for label in properties.get("securityLabels") or []),
        "security_properties": dict(properties.get("securityProperties") or {}),
        "access_groups": {
            str(operation): sorted(str(group) for group in (groups if isinstance(groups, list) else [groups]))
            for operation, groups in access.items()
        },
    }


def _dump(entry: _Entry) -> dict[str, Any]:
    return entry.model_dump(mode="json", by_alias=True)


def asset_entry(element: Element) -> dict[str, Any]:
    confidentiality = element.classification("Confidentiality")
    return _dump(
        AssetEntry(
            guid=element.guid,
            type_name=element.type_name,
            name=_text(element, "name") or _text(element, "displayName"),
            zones=sorted(element.zone_membership),
            confidentiality=dict(confidentiality.properties) if confidentiality is not None else None,
            **_security_tags(element),
        )
    )


def zone_entry(element: Element) -> dict[str, Any]:
    return _dump(
        ZoneEntry(
            guid=element.guid,
            qualified_name=element.qualified_name,
            display_name=_text(element, "displayName"),
            description=_text(element, "description"),
            criteria=_text(element, "criteria"),
            **_security_tags(element),
        )
    )


def _all(page_of: Callable[[int, int], list[Element]]) -> list[Element]:
    """Every element a retrieval returns (called with start_from and page_size), page by page."""
    found: list[Element] = []
    while True:
        page = page_of(len(found), PAGE_SIZE)
        found += page
        if len(page) < PAGE_SIZE:
            return found


def _found(find: Callable[[str | None, int, int], list[Element]]) -> Callable[[int, int], list[Element]]:
    """A find_* operation as a retrieval of everything of its kind."""
    return lambda start_from, page_size: find(None, start_from, page_size)


def read_document(context: SecurityIntegratorContext) -> Document:
    """The document as the repository says now. Call it inside one transaction for a consistent view."""
    document = read_people(context)
    for zone in _all(_found(context.find_governance_zones)):
        document["zones"][zone_key(zone)] = zone_entry(zone)
    for asset in _all(_found(context.find_assets)):
        document["assets"][asset.qualified_name] = asset_entry(asset)
    return document


def read_people(context: SecurityIntegratorContext) -> Document:
    """The `users` and `groups` sections as the repository says now (the others empty): what a change to a
    user, a group or a membership can change. Why apart: it costs what the directory costs, not the catalogue."""
    document = empty_document()
    users: dict[str, str] = {}  # guid -> user key
    for user in _all(_found(context.find_user_identities)):
        key = user_key(user)
        users[user.guid] = key
        document["users"][key] = {
            "guid": user.guid,
            "qualifiedName": user.qualified_name,
            "distinguishedName": _text(user, "distinguishedName"),
            "groups": [],
        }
    for group in _all(_found(context.find_security_groups)):
        members = sorted(
            users[member.guid]
            for member in _all(functools.partial(context.get_security_group_members, group.guid))
            if member.guid in users
        )
        document["groups"][group.qualified_name] = _dump(
            GroupEntry(
                guid=group.guid,
                name=_text(group, "name") or _text(group, "displayName"),
                distinguished_name=_text(group, "distinguishedName"),
                members=members,
            )
        )
        for member in members:
            document["users"][member]["groups"].append(group.qualified_name)
    for user_entry in document["users"].values():
        user_entry["groups"].sort()
    return document


#: The sections whose entries depend on one element alone: how to key that element and make its entry.
ELEMENT_SECTIONS: dict[str, tuple[Callable[[Element], str], Callable[[Element], dict[str, Any]]]] = {
    "assets": (lambda element: element.qualified_name, asset_entry),
    "zones": (zone_key, zone_entry),
}


def with_element_changes(published: Document, events: Iterable[tuple[str, ChangeEvent]]) -> Document:
    """`published` with each event's asset or zone as the event says it is now (in event order), without a
    read of the repository; each event comes with its section ("assets" or "zones")."""
    changed: dict[str, dict[str, Any]] = {}
    keys: dict[str, dict[str, str]] = {}  # section -> guid -> key
    for section, event in events:
        element = event.element or event.previous_element
        if element is None:
            continue
        if section not in changed:
            changed[section] = dict(published[section])
            keys[section] = {entry["guid"]: key for key, entry in changed[section].items()}
        entries, guid_keys = changed[section], keys[section]
        old_key = guid_keys.pop(element.guid, None)
        if old_key is not None:
            del entries[old_key]
        if event.element is not None and event.kind not in (ChangeKind.ELEMENT_ARCHIVED, ChangeKind.ELEMENT_DELETED):
            key_of, entry_of = ELEMENT_SECTIONS[section]
            key = key_of(event.element)
            entries[key] = entry_of(event.element)
            guid_keys[element.guid] = key
    return {**published, **changed}


def _pointer(*segments: str) -> str:
    """A JSON pointer (RFC 6901): `~` and `/` inside a key are escaped."""
    return "".join("/" + segment.replace("~", "~0").replace("/", "~1") for segment in segments)


def patch_between(published: Document, current: Document) -> list[dict[str, Any]]:
    """The JSON-patch operations (RFC 6902) that turn `published` into `current`, one per changed entry."""
    operations: list[dict[str, Any]] = []
    for section in SECTIONS:
        before, after = published.get(section, {}), current.get(section, {})
        for key in sorted(before.keys() - after.keys()):
            operations.append({"op": "remove", "path": _pointer(section, key)})
        for key in sorted(after):
            if before.get(key) != after[key]:
                operations.append({"op": "add", "path": _pointer(section, key), "value": after[key]})
    return operations
