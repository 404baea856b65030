"""Reading people and groups under the base DNs: all of them, or only what changed since the last refresh.

A full read is one paged search per base DN and kind (people, groups), with the mapped attributes and the
modify timestamp. An incremental read asks for the entries whose timestamp is at or after the highest one
the last read saw (`>=`: timestamps have one-second resolution, so an entry changed in that same second is
read again, never missed), and lists every DN (no attributes) to find the entries that were deleted or
moved. When an entry carries no timestamp, the server does not support it for us and every read is full.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from metaferry_runtime.connectors.ldap_directory.directory import NO_ATTRIBUTES, Directory, Entry
from metaferry_runtime.connectors.ldap_directory.model import normal_dn
from metaferry_runtime.connectors.ldap_directory.settings import LdapDirectorySettings


@dataclass
class Snapshot:
    """The entries of the last read, by normalised DN, and the highest modify timestamp among them."""

    people: dict[str, Entry] = field(default_factory=dict)
    groups: dict[str, Entry] = field(default_factory=dict)
    high_water_mark: str | None = None
    #: False when an entry had no timestamp: the next read must be full.
    timestamps: bool = True


@dataclass(frozen=True)
class ReadResult:
    snapshot: Snapshot
    #: True when the entries are exactly the previous snapshot's (nothing changed, moved or went).
    unchanged: bool
    incremental: bool
    changed_entries: int


def read_full(directory: Directory, settings: LdapDirectorySettings, base_dns: Sequence[str]) -> ReadResult:
    snapshot = Snapshot()
    stamp = settings.modify_timestamp_attribute.lower()
    for kind, search_filter, attributes in _kinds(settings):
        found = snapshot.people if kind == "people" else snapshot.groups
        for base_dn in base_dns:
            for entry in directory.search(base_dn, search_filter, attributes):
                found[normal_dn(entry.dn)] = entry
                _note_stamp(snapshot, entry, stamp)
    return ReadResult(
        snapshot, unchanged=False, incremental=False, changed_entries=len(snapshot.people) + len(snapshot.groups)
    )


def read_changes(
    directory: Directory, settings: LdapDirectorySettings, base_dns: Sequence[str], previous: Snapshot
) -> ReadResult:
    """The previous snapshot brought up to date; a full read when the changes cannot be read alone."""
    if not previous.timestamps or previous.high_water_mark is None:
        return read_full(directory, settings, base_dns)
    stamp = settings.modify_timestamp_attribute
    since = f"({stamp}>={_escaped(previous.high_water_mark)})"
    snapshot = Snapshot(high_water_mark=previous.high_water_mark)
    changed = 0
    for kind, search_filter, attributes in _kinds(settings):
        before = previous.people if kind == "people" else previous.groups
        now = snapshot.people if kind == "people" else snapshot.groups
        fresh: dict[str, Entry] = {}
        for base_dn in base_dns:
            for entry in directory.search(base_dn, f"(&{search_filter}{since})", attributes):
                fresh[normal_dn(entry.dn)] = entry
                _note_stamp(snapshot, entry, stamp.lower())
        present = {
            normal_dn(entry.dn)
            for base_dn in base_dns
            for entry in directory.search(base_dn, search_filter, NO_ATTRIBUTES)
        }
        if not snapshot.timestamps or any(key not in before and key not in fresh for key in present):
            return read_full(directory, settings, base_dns)  # an entry appeared without a newer timestamp
        for key in present:
            now[key] = fresh.get(key) or before[key]
        changed += sum(1 for key, entry in fresh.items() if before.get(key) != entry)
        changed += len(before.keys() - present)
    unchanged = (
        changed == 0
        and snapshot.people.keys() == previous.people.keys()
        and snapshot.groups.keys() == previous.groups.keys()
    )
    return ReadResult(snapshot, unchanged=unchanged, incremental=True, changed_entries=changed)


def _kinds(settings: LdapDirectorySettings) -> list[tuple[str, str, list[str]]]:
    people, groups = settings.people_mapping, settings.groups_mapping
    stamp = settings.modify_timestamp_attribute
    people_attributes = [
        people.user_id,
        people.full_name,
        people.given_names,
        people.surname,
        people.email,
        people.job_title,
        people.employee_number,
        people.employee_type,
        people.telephone,
        people.mobile,
        people.manager,
        people.member_of,
        stamp,
    ]
    group_attributes = [
        groups.name,
        groups.description,
        *(groups.member_attributes or ()),
        groups.member_uid_attribute,
        groups.leader_attribute,
        stamp,
    ]
    return [
        ("people", people.filter or "(objectClass=*)", _names(people_attributes)),
        ("groups", groups.filter or "(objectClass=*)", _names(group_attributes)),
    ]


def _names(attributes: Sequence[str | None]) -> list[str]:
    return list(dict.fromkeys(attribute for attribute in attributes if attribute))


def _note_stamp(snapshot: Snapshot, entry: Entry, attribute: str) -> None:
    value = entry.first(attribute)
    if value is None:
        snapshot.timestamps = False
    elif snapshot.high_water_mark is None or value > snapshot.high_water_mark:
        snapshot.high_water_mark = value


def _escaped(value: str) -> str:
    """A value safe inside a filter (RFC 4515)."""
    return "".join(f"\\{ord(char):02x}" if char in "*()\\\0" else char for char in value)
