"""From directory entries to the organization the repository should hold: pure functions, no I/O.

The `Plan` is what one refresh wants: every element by qualified name (its type and properties) and every
relationship by the qualified names of its ends. The connector compares a new plan with the previous one
to write only what changed (an incremental refresh), or writes a whole plan (the first one, or after a
restart). Qualified names: `ldap://host:port/<normalised DN>` for a Person (a person entry) or a Team (a
group entry), with `::UserIdentity`, `::ContactDetails::<method>` and `::DirectReports` after a person's.

Membership: a group's member attributes name people and groups by DN (groupOfNames, groupOfUniqueNames,
Active Directory), a posixGroup's memberUid names people by uid, and a person's memberOf (Active
Directory) names groups. A member that is a group makes a TeamStructure (super team -> sub team); one that
is neither a catalogued person nor group is left out. A group's owner / managedBy leads its team; a
person's manager leads a team of their direct reports (when `managerTeams` is on).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ldap3.core.exceptions import LDAPInvalidDnError
from ldap3.utils.dn import parse_dn

from metaferry_runtime.connectors.ldap_directory.directory import DirectoryAddress, Entry
from metaferry_runtime.connectors.ldap_directory.settings import GroupsMapping, PeopleMapping

PERSON, TEAM, IDENTITY, CONTACT = "Person", "Team", "UserIdentity", "ContactDetails"
#: Relationship kinds of a plan; MEMBER and LEADER are appointments to a team's roles.
PROFILE_IDENTITY, CONTACT_THROUGH, TEAM_STRUCTURE, MEMBER, LEADER = (
    "ProfileIdentity",
    "ContactThrough",
    "TeamStructure",
    "TeamMember",
    "TeamLeader",
)
#: (kind, end 1 qualified name, end 2 qualified name); for MEMBER and LEADER: (kind, team, person).
Link = tuple[str, str, str]


@functools.lru_cache(maxsize=200_000)
def normal_dn(dn: str) -> str:
    """A DN as one spelling: lower case, no spaces around separators (DNs compare case-insensitively)."""
    try:
        parts = parse_dn(dn, escape=False, strip=True)
    except LDAPInvalidDnError:
        return dn.strip().lower()
    text = ""
    for attribute, value, separator in parts:
        text += f"{attribute.lower()}={value.lower()}{separator if separator == '+' else ','}"
    return text.rstrip(",+")


@dataclass
class Plan:
    elements: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    links: set[Link] = field(default_factory=set)

    def names_of(self, type_name: str) -> list[str]:
        return [name for name, (kind, _) in self.elements.items() if kind == type_name]


@dataclass(frozen=True)
class Naming:
    """Qualified names under one directory."""

    address: DirectoryAddress

    @property
    def prefix(self) -> str:
        return f"ldap://{self.address.authority}/"

    def of(self, dn: str) -> str:
        return self.prefix + normal_dn(dn)


def plan_organization(
    *,
    people: Mapping[str, Entry],
    groups: Mapping[str, Entry],
    people_mapping: PeopleMapping,
    groups_mapping: GroupsMapping,
    naming: Naming,
    manager_teams: bool,
) -> Plan:
    """The plan for these entries (keyed by normalised DN)."""
    plan = Plan()
    by_uid: dict[str, str] = {}
    for key, entry in people.items():
        _plan_person(plan, entry, people_mapping, naming)
        uid = entry.first(people_mapping.user_id)
        if uid:
            by_uid.setdefault(uid.lower(), key)
    for entry in groups.values():
        plan.elements[naming.of(entry.dn)] = (TEAM, _team_properties(entry, groups_mapping))
    for key, entry in groups.items():
        team = naming.of(entry.dn)
        for member in _member_dns(entry, groups_mapping):
            if member in groups and member != key:
                plan.links.add((TEAM_STRUCTURE, team, naming.of(groups[member].dn)))
            elif member in people:
                plan.links.add((MEMBER, team, naming.of(people[member].dn)))
        for uid in entry.all(groups_mapping.member_uid_attribute):
            person = by_uid.get(uid.lower())
            if person is not None:
                plan.links.add((MEMBER, team, naming.of(people[person].dn)))
        for leader in entry.all(groups_mapping.leader_attribute):
            leader_key = normal_dn(leader)
            if leader_key in people:
                plan.links.add((LEADER, team, naming.of(people[leader_key].dn)))
    for entry in people.values():
        for group in entry.all(people_mapping.member_of):
            group_key = normal_dn(group)
            if group_key in groups:
                plan.links.add((MEMBER, naming.of(groups[group_key].dn), naming.of(entry.dn)))
    if manager_teams:
        _plan_manager_teams(plan, people, people_mapping, naming)
    return plan


def _plan_person(plan: Plan, entry: Entry, mapping: PeopleMapping, naming: Naming) -> None:
    person = naming.of(entry.dn)
    full_name = entry.first(mapping.full_name)
    properties = _present(
        name=full_name or entry.dn,
        fullName=full_name,
        givenNames=entry.first(mapping.given_names),
        surname=entry.first(mapping.surname),
        jobTitle=entry.first(mapping.job_title),
        employeeNumber=entry.first(mapping.employee_number),
        employeeType=entry.first(mapping.employee_type),
    )
    plan.elements[person] = (PERSON, properties)
    identity = f"{person}::UserIdentity"
    user_id = entry.first(mapping.user_id)
    plan.elements[identity] = (
        IDENTITY,
        _present(name=user_id or entry.dn, userId=user_id, distinguishedName=entry.dn),
    )
    plan.links.add((PROFILE_IDENTITY, person, identity))
    display = full_name or user_id or entry.dn
    for method, method_type, attribute in (
        ("email", "EMAIL", mapping.email),
        ("phone", "PHONE", mapping.telephone),
        ("mobile", "MOBILE", mapping.mobile),
    ):
        value = entry.first(attribute)
        if value:
            contact = f"{person}::ContactDetails::{method}"
            plan.elements[contact] = (
                CONTACT,
                {
                    "name": f"{method} of {display}",
                    "contactType": "work",
                    "contactMethodType": method_type,
                    "contactMethodValue": value,
                },
            )
            plan.links.add((CONTACT_THROUGH, person, contact))


def _team_properties(entry: Entry, mapping: GroupsMapping) -> dict[str, Any]:
    name = entry.first(mapping.name) or entry.dn
    return _present(name=name, identifier=entry.dn, description=entry.first(mapping.description), teamType="group")


def _plan_manager_teams(plan: Plan, people: Mapping[str, Entry], mapping: PeopleMapping, naming: Naming) -> None:
    """A "direct reports" team per manager, led by them; a manager's team is a sub team of their manager's."""
    managers: dict[str, str] = {}
    for key, entry in people.items():
        manager = entry.first(mapping.manager)
        manager_key = normal_dn(manager) if manager else None
        if manager_key is not None and manager_key in people and manager_key != key:
            managers[key] = manager_key
    teams = set(managers.values())
    for manager_key in teams:
        boss = people[manager_key]
        person = naming.of(boss.dn)
        team = f"{person}::DirectReports"
        display = boss.first(mapping.full_name) or boss.dn
        plan.elements[team] = (TEAM, {"name": f"Direct reports of {display}", "teamType": "direct reports"})
        plan.links.add((LEADER, team, person))
        above = managers.get(manager_key)
        if above is not None:
            plan.links.add((TEAM_STRUCTURE, f"{naming.of(people[above].dn)}::DirectReports", team))
    for key, manager_key in managers.items():
        plan.links.add((MEMBER, f"{naming.of(people[manager_key].dn)}::DirectReports", naming.of(people[key].dn)))


def _member_dns(entry: Entry, mapping: GroupsMapping) -> Iterable[str]:
    for attribute in mapping.member_attributes or ():
        for value in entry.all(attribute):
            # groupOfUniqueNames may append an optional UID: "cn=x,dc=y#'0101'B".
            yield normal_dn(value.split("#", 1)[0] if "#'" in value else value)


def _present(**properties: Any) -> dict[str, Any]:
    return {key: value for key, value in properties.items() if value is not None}
