"""Bringing the repository in step with a plan: bulk upserts, the relationships that changed, deletions.

With the previous plan (an incremental refresh) only elements whose properties changed are upserted, the
rest are marked observed by name, and only links that appeared or went are written. If the repository
lacks an element the previous plan says it holds (a purge, or a refresh whose commit was lost), the whole
plan is written instead, in the same refresh. Without a previous plan (the first refresh, or the first
after a restart) every element is upserted (an unchanged one costs a comparison) and each team's links
are read back, so a membership that ended while the connector was down is removed.

Links never removed one by one: ProfileIdentity and ContactThrough (their ends are named after the person,
so they go with the person's elements). Deletion detection archives what the plan no longer names.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from metaferry_runtime.connectors.ldap_directory.model import (
    CONTACT,
    CONTACT_THROUGH,
    IDENTITY,
    LEADER,
    MEMBER,
    PERSON,
    PROFILE_IDENTITY,
    TEAM,
    TEAM_STRUCTURE,
    Link,
    Plan,
)
from metaferry_runtime.sdk import Element, ElementUpsert
from metaferry_runtime.sdk.contexts.organization import OrganizationIntegratorContext

#: Element types the connector owns under its prefix; PersonRole: the teams' member and leader roles.
DETECTED_TYPES = (PERSON, IDENTITY, CONTACT, TEAM, "PersonRole")
ROLE_SUFFIXES = ("::TeamMember", "::TeamLeader")
#: The changes an upsert reports (the repository's str values, which compare equal to these strings).
UNCHANGED, CREATED, RELATIONSHIP_CREATED = "UNCHANGED", "ELEMENT_CREATED", "RELATIONSHIP_CREATED"
#: Up to this many changed elements are updated by GUID, each fetched alone. Why: an upsert of more than a few
#: dozen elements the transaction has not seen loads every element the connector owns (220,000 for a
#: directory of 50,000 people) to compare them.
UPDATE_BY_GUID_LIMIT = 1_000


@dataclass
class Outcome:
    """What a refresh wrote, for the audit record."""

    people: int = 0
    teams: int = 0
    changed: int = 0
    links_added: int = 0
    links_removed: int = 0
    archived: int = 0
    full: bool = True
    guids: dict[str, str] = field(default_factory=dict)
    #: A Person or Team this refresh created or updated, with its properties: if the next refresh does not
    #: find it so, this refresh's commit was lost and its plan must not be trusted.
    probe: tuple[str, str, dict[str, Any]] | None = None

    @property
    def wrote(self) -> bool:
        return bool(self.changed or self.links_added or self.links_removed or self.archived)


def write_plan(
    context: OrganizationIntegratorContext,
    plan: Plan,
    *,
    previous: Plan | None,
    guids: dict[str, str],
    prefix: str,
) -> Outcome:
    """Write the plan (the delta from `previous` when given); `guids` are the previous refresh's, by name."""
    roles = [team + suffix for team in plan.names_of(TEAM) for suffix in ROLE_SUFFIXES]
    outcome = _write_delta(context, plan, previous, dict(guids), roles) if previous is not None else None
    if outcome is None:  # no previous plan, or the repository is not what it says: write it all
        outcome = _write_whole(context, plan, prefix)
        if roles:  # the teams' member and leader roles are the connector's too: deletion detection must see them
            context.mark_observed_by_names(roles)
    archived = context.detect_deletions(type_names=DETECTED_TYPES, scope_prefix=prefix)
    outcome.archived = len(archived)
    outcome.people = sum(1 for kind, _ in plan.elements.values() if kind == PERSON)
    outcome.teams = sum(1 for kind, _ in plan.elements.values() if kind == TEAM)
    return outcome


def _write_whole(context: OrganizationIntegratorContext, plan: Plan, prefix: str) -> Outcome:
    outcome = Outcome(full=True)
    created: set[str] = set()
    for name, (change, guid) in _upsert(context, plan, plan.elements.keys()).items():
        outcome.guids[name] = guid
        if change != UNCHANGED:
            outcome.changed += 1
            _note_probe(outcome, plan, name)
        if change == CREATED:
            created.add(name)
    outcome.links_added = _link(context, plan.links, outcome.guids)
    outcome.links_removed = _remove_stale_team_links(context, plan, outcome.guids, skip=created, prefix=prefix)
    return outcome


def _write_delta(
    context: OrganizationIntegratorContext, plan: Plan, previous: Plan, guids: dict[str, str], roles: list[str]
) -> Outcome | None:
    outcome = Outcome(full=False, guids=guids)
    changed = [name for name, value in plan.elements.items() if previous.elements.get(name) != value]
    unchanged = [name for name in plan.elements if previous.elements.get(name) == plan.elements[name]]
    known = [name for name in changed if name in guids and name in previous.elements]
    if len(known) > UPDATE_BY_GUID_LIMIT:
        known = []
    # One call for all (each scans what the connector owns); a team without leaders has no leader role.
    missing = context.mark_observed_by_names(unchanged + known + roles)
    if missing and not set(missing) <= set(roles):
        return None
    if known:
        _update_known(context, plan, known, guids)
        outcome.changed += len(known)
        for name in known:
            _note_probe(outcome, plan, name)
        changed = [name for name in changed if name not in set(known)]
    for name, (change, guid) in _upsert(context, plan, changed).items():
        guids[name] = guid
        if change != UNCHANGED:
            outcome.changed += 1
            _note_probe(outcome, plan, name)
    for name in previous.elements.keys() - plan.elements.keys():
        guids.pop(name, None)
    if any(end not in guids for link in plan.links - previous.links for end in link[1:]):
        return None
    outcome.links_added = _link(context, plan.links - previous.links, guids)
    gone = [link for link in previous.links - plan.links if all(end in guids for end in link[1:])]
    outcome.links_removed = _unlink(context, gone, guids)
    return outcome


def _update_known(
    context: OrganizationIntegratorContext, plan: Plan, names: Sequence[str], guids: dict[str, str]
) -> None:
    """Replace the properties of elements the repository holds (the caller has just observed them), by GUID."""
    updaters: dict[str, Callable[..., Element]] = {
        PERSON: context.update_person,
        TEAM: context.update_team,
        IDENTITY: context.update_user_identity,
        CONTACT: context.update_contact_method,
    }
    for name in names:
        type_name, properties = plan.elements[name]
        updaters[type_name](guids[name], properties, is_merge_update=False)


def _note_probe(outcome: Outcome, plan: Plan, name: str) -> None:
    type_name, properties = plan.elements[name]
    if outcome.probe is None and type_name in (PERSON, TEAM):
        outcome.probe = (type_name, name, properties)


def was_committed(
    context: OrganizationIntegratorContext, probe: tuple[str, str, dict[str, Any]] | None, *, wrote: bool
) -> bool:
    """True when the previous refresh wrote nothing, or its probe is in the repository as it was written.
    A refresh that wrote only links, contacts or archives has no probe: it is not trusted either."""
    if probe is None:
        return not wrote
    type_name, name, properties = probe
    found = (context.get_people_by_name if type_name == PERSON else context.get_teams_by_name)(name)
    return any(
        element.qualified_name == name
        and {k: v for k, v in element.properties.items() if k != "qualifiedName"} == properties
        for element in found
    )


def _upsert(context: OrganizationIntegratorContext, plan: Plan, names: Iterable[str]) -> dict[str, tuple[str, str]]:
    by_type: dict[str, list[ElementUpsert]] = defaultdict(list)
    for name in names:
        type_name, properties = plan.elements[name]
        by_type[type_name].append(ElementUpsert(name, properties, type_name))
    writers: dict[str, Callable[[Sequence[ElementUpsert]], Sequence[tuple[str, str]]]] = {
        PERSON: context.upsert_people,
        TEAM: context.upsert_teams,
        IDENTITY: context.upsert_user_identities,
        CONTACT: context.upsert_contact_methods,
    }
    results: dict[str, tuple[str, str]] = {}
    for type_name in (PERSON, TEAM, IDENTITY, CONTACT):
        upserts = by_type.get(type_name, [])
        if upserts:
            for upsert, (guid, change) in zip(upserts, writers[type_name](upserts), strict=True):
                results[upsert.qualified_name] = (change, guid)
    return results


def _link(context: OrganizationIntegratorContext, links: Iterable[Link], guids: dict[str, str]) -> int:
    """Create the links (existing ones are left as they are); returns how many were created."""
    pairs: dict[str, list[tuple[str, str]]] = defaultdict(list)
    appointments: dict[tuple[str, str], list[str]] = defaultdict(list)
    for kind, end1, end2 in sorted(links):
        if kind in (MEMBER, LEADER):
            appointments[(kind, end1)].append(guids[end2])
        else:
            pairs[kind].append((guids[end1], guids[end2]))
    results: list[tuple[str, str]] = []
    results += context.add_user_identities_to_profiles(pairs[PROFILE_IDENTITY]) if pairs[PROFILE_IDENTITY] else []
    results += context.link_contact_methods(pairs[CONTACT_THROUGH]) if pairs[CONTACT_THROUGH] else []
    results += context.link_teams_in_hierarchy_many(pairs[TEAM_STRUCTURE]) if pairs[TEAM_STRUCTURE] else []
    for (kind, team), people in appointments.items():
        appoint = context.add_team_members if kind == MEMBER else context.add_team_leaders
        results += appoint(guids[team], people)
    return sum(1 for _, change in results if change == RELATIONSHIP_CREATED)


def _unlink(context: OrganizationIntegratorContext, links: Iterable[Link], guids: dict[str, str]) -> int:
    removed = 0
    for kind, end1, end2 in links:
        if kind == TEAM_STRUCTURE:
            context.unlink_teams_in_hierarchy(guids[end1], guids[end2])
        elif kind == MEMBER:
            context.remove_team_member(guids[end1], guids[end2])
        elif kind == LEADER:
            context.remove_team_leader(guids[end1], guids[end2])
        else:
            continue
        removed += 1
    return removed


def _remove_stale_team_links(
    context: OrganizationIntegratorContext, plan: Plan, guids: dict[str, str], *, skip: set[str], prefix: str
) -> int:
    """Links of the plan's teams that the plan no longer has (a team created by this refresh has none)."""
    wanted: dict[tuple[str, str], set[str]] = defaultdict(set)
    for kind, end1, end2 in plan.links:
        if kind in (MEMBER, LEADER, TEAM_STRUCTURE):
            wanted[(kind, end1)].add(end2)
    readers: dict[str, Callable[[str], list[Element]]] = {
        MEMBER: context.get_team_members,
        LEADER: context.get_team_leaders,
        TEAM_STRUCTURE: context.get_sub_teams,
    }
    stale: list[Link] = []
    for team in plan.names_of(TEAM):
        if team in skip:
            continue
        for kind, read in readers.items():
            for element in read(guids[team]):
                name = element.qualified_name
                if name.startswith(prefix) and name not in wanted[(kind, team)]:
                    guids.setdefault(name, element.guid)
                    stale.append((kind, team, name))
    return _unlink(context, stale, guids)
