"""Reading people and groups under the base DNs: all of them, or only what changed since the last refresh.

A full read is one paged search per base DN and kind (people, groups), with the mapped attributes and the
change attributes. An incremental read asks for the entries whose change attribute is at or after the
highest value the last read saw (`>=`, so an entry changed in that same instant is read again, never
missed), and lists every DN (no attributes) to find the entries that were deleted or moved.

The change attribute is `modifyTimestampAttribute` when set; otherwise the first of entryCSN (OpenLDAP:
microsecond resolution, so the `>=` re-reads one entry, not every entry changed in the same second, which
after a bulk load is all of them) and modifyTimestamp that every entry carries. When no entry carries one,
the server does not support it for us and every read is full.
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
    #: The change attribute every entry carries, and its highest value; None: the next read must be full.
    change_attribute: str | None = None
    high_water_mark: str | None = None

    @property
    def timestamps(self) -> bool:
        return self.change_attribute is not None and self.high_water_mark is not None


@dataclass(frozen=True)
class ReadResult:
    snapshot: Snapshot
    #: True when the entries are exactly the previous snapshot's (nothing changed, moved or went).
    unchanged: bool
    incremental: bool
    changed_entries: int


def read_full(directory: Directory, settings: LdapDirectorySettings, base_dns: Sequence[str]) -> ReadResult:
    snapshot = Snapshot()
    for kind, search_filter, attributes in _kinds(settings):
        found = snapshot.people if kind == "people" else snapshot.groups
        for base_dn in base_dns:
            for entry in directory.search(base_dn, search_filter, attributes):
                found[normal_dn(entry.dn)] = entry
    entries = [*snapshot.people.values(), *snapshot.groups.values()]
    for candidate in change_attributes(settings):
        values = [entry.first(candidate) for entry in entries]
        if values and all(values):
            snapshot.change_attribute, snapshot.high_water_mark = candidate, max(v for v in values if v)
            break
    return ReadResult(snapshot, unchanged=False, incremental=False, changed_entries=len(entries))


def read_changes(
    directory: Directory, settings: LdapDirectorySettings, base_dns: Sequence[str], previous: Snapshot
) -> ReadResult:
    """The previous snapshot brought up to date; a full read when the changes cannot be read alone."""
    stamp, mark = previous.change_attribute, previous.high_water_mark
    if stamp is None or mark is None:
        return read_full(directory, settings, base_dns)
    since = f"({stamp}>={_escaped(mark)})"
    snapshot = Snapshot(change_attribute=stamp, high_water_mark=mark)
    changed = 0
    for kind, search_filter, attributes in _kinds(settings):
        before = previous.people if kind == "people" else previous.groups
        now = snapshot.people if kind == "people" else snapshot.groups
        fresh: dict[str, Entry] = {}
        for base_dn in base_dns:
            for entry in directory.search(base_dn, f"(&{search_filter}{since})", attributes):
                fresh[normal_dn(entry.dn)] = entry
                value = entry.first(stamp)
                if value is None:
                    return read_full(directory, settings, base_dns)
                snapshot.high_water_mark = max(value, snapshot.high_water_mark or value)
        present = {
            normal_dn(entry.dn)
            for base_dn in base_dns
            for entry in directory.search(base_dn, search_filter, NO_ATTRIBUTES)
        }
        if any(key not in before and key not in fresh for key in present):
            return read_full(directory, settings, base_dns)  # an entry appeared without a newer change value
        for key in present:
            now[key] = fresh.get(key) or before[key]
        changed += sum(1 for key, entry in fresh.items() if key in present and before.get(key) != entry)
        changed += len(before.keys() - present)
    unchanged = (
        changed == 0
        and snapshot.people.keys() == previous.people.keys()
        and snapshot.groups.keys() == previous.groups.keys()
    )
    return ReadResult(snapshot, unchanged=unchanged, incremental=True, changed_entries=changed)


def change_attributes(settings: LdapDirectorySettings) -> tuple[str, ...]:
    """The attributes that may say when an entry last changed, in the order they are preferred."""
    if settings.modify_timestamp_attribute:
        return (settings.modify_timestamp_attribute,)
    return ("entryCSN", "modifyTimestamp")


def _kinds(settings: LdapDirectorySettings) -> list[tuple[str, str, list[str]]]:
    people, groups = settings.people_mapping, settings.groups_mapping
    stamps = change_attributes(settings)
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
        *stamps,
    ]
    group_attributes = [
        groups.name,
        groups.description,
        *(groups.member_attributes or ()),
        groups.member_uid_attribute,
        groups.leader_attribute,
        *stamps,
    ]
    return [
        ("people", people.filter or "(objectClass=*)", _names(people_attributes)),
        ("groups", groups.filter or "(objectClass=*)", _names(group_attributes)),
    ]


def _names(attributes: Sequence[str | None]) -> list[str]:
    return list(dict.fromkeys(attribute for attribute in attributes if attribute))


def _escaped(value: str) -> str:
    """A value safe inside a filter (RFC 4515)."""
    return "".join(f"\\{ord(char):02x}" if char in "*()\\\0" else char for char in value)
