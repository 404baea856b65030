"""Organization integration service (Egeria's Organization Integrator): people, teams, roles, identities.

Egeria does not link a person to a team directly: a person is appointed (PersonRoleAppointment) to a role,
and the role is a team's members or leaders (TeamMembership / TeamLeadership). `add_team_member` and
`add_team_leader` keep that model and hide it: each team has one member role and one leader role, named
`<team qualified name>::TeamMember` / `::TeamLeader`, created on first use.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from metaferry_runtime.repository import ChangeKind, Element, Transaction
from metaferry_runtime.sdk.contexts._elements import (
    MAX_PAGE_SIZE,
    ElementContext,
    ElementKind,
    ParentLink,
    RelationshipKind,
    page_of,
)

PERSON = ElementKind("Person")
TEAM = ElementKind("Team")
PERSON_ROLE = ElementKind("PersonRole")
USER_IDENTITY = ElementKind("UserIdentity")
CONTACT_DETAILS = ElementKind("ContactDetails", parent=ParentLink("ContactThrough"))
TEAM_STRUCTURE = RelationshipKind("TeamStructure", end1="super team", end2="sub team")
PERSON_ROLE_APPOINTMENT = RelationshipKind("PersonRoleAppointment", end1="person", end2="role")
TEAM_MEMBERSHIP = RelationshipKind("TeamMembership", end1="member role", end2="team")
TEAM_LEADERSHIP = RelationshipKind("TeamLeadership", end1="leader role", end2="team")
PROFILE_IDENTITY = RelationshipKind("ProfileIdentity", end1="profile", end2="user identity")
CONTACT_THROUGH = RelationshipKind("ContactThrough", end1="profile", end2="contact method")


class OrganizationIntegratorContext(ElementContext):
    """What an organization connector may do: catalog people and teams, who is in and who leads each team."""

    integration_service = "organization"

    create_person = PERSON.create()
    upsert_person = PERSON.upsert()
    upsert_people = PERSON.upsert_many()
    update_person = PERSON.update()
    remove_person = PERSON.remove()
    find_people = PERSON.find()
    get_people_by_name = PERSON.get_by_name()
    get_my_people = PERSON.get_mine()
    get_person_by_guid = PERSON.get_by_guid()

    create_team = TEAM.create()
    upsert_team = TEAM.upsert()
    upsert_teams = TEAM.upsert_many()
    update_team = TEAM.update()
    remove_team = TEAM.remove()
    find_teams = TEAM.find()
    get_teams_by_name = TEAM.get_by_name()
    get_my_teams = TEAM.get_mine()
    get_team_by_guid = TEAM.get_by_guid()
    link_teams_in_hierarchy = TEAM_STRUCTURE.link()
    unlink_teams_in_hierarchy = TEAM_STRUCTURE.unlink()
    link_teams_in_hierarchy_many = TEAM_STRUCTURE.link_many()
    get_sub_teams = TEAM_STRUCTURE.end2_elements()
    get_super_teams = TEAM_STRUCTURE.end1_elements()

    create_person_role = PERSON_ROLE.create()
    upsert_person_role = PERSON_ROLE.upsert()
    upsert_person_roles = PERSON_ROLE.upsert_many()
    update_person_role = PERSON_ROLE.update()
    remove_person_role = PERSON_ROLE.remove()
    find_person_roles = PERSON_ROLE.find()
    get_person_roles_by_name = PERSON_ROLE.get_by_name()
    get_my_person_roles = PERSON_ROLE.get_mine()
    get_person_role_by_guid = PERSON_ROLE.get_by_guid()
    appoint_person_to_role = PERSON_ROLE_APPOINTMENT.link()
    relieve_person_from_role = PERSON_ROLE_APPOINTMENT.unlink()
    get_appointees = PERSON_ROLE_APPOINTMENT.end1_elements()

    create_user_identity = USER_IDENTITY.create()
    upsert_user_identity = USER_IDENTITY.upsert()
    upsert_user_identities = USER_IDENTITY.upsert_many()
    update_user_identity = USER_IDENTITY.update()
    remove_user_identity = USER_IDENTITY.remove()
    find_user_identities = USER_IDENTITY.find()
    get_user_identities_by_name = USER_IDENTITY.get_by_name()
    get_user_identity_by_guid = USER_IDENTITY.get_by_guid()
    add_user_identity_to_profile = PROFILE_IDENTITY.link()
    add_user_identities_to_profiles = PROFILE_IDENTITY.link_many()
    remove_user_identity_from_profile = PROFILE_IDENTITY.unlink()
    get_user_identities_of_profile = PROFILE_IDENTITY.end2_elements()

    add_contact_method = CONTACT_DETAILS.create()
    upsert_contact_methods = CONTACT_DETAILS.upsert_many()
    link_contact_methods = CONTACT_THROUGH.link_many()
    update_contact_method = CONTACT_DETAILS.update()
    delete_contact_method = CONTACT_DETAILS.remove()
    get_contact_methods = CONTACT_DETAILS.children()

    # --- team membership and leadership through the team's roles ---------------------------------------------
    def add_team_member(self, team_guid: str, person_guid: str, properties: Mapping[str, Any] | None = None) -> str:
        """Appoint the person to the team's member role; returns the appointment's GUID."""
        return self._appoint("add_team_member", TEAM_MEMBERSHIP, "TeamMember", team_guid, person_guid, properties)

    def add_team_leader(self, team_guid: str, person_guid: str, properties: Mapping[str, Any] | None = None) -> str:
        """Appoint the person to the team's leader role; returns the appointment's GUID."""
        return self._appoint("add_team_leader", TEAM_LEADERSHIP, "TeamLeader", team_guid, person_guid, properties)

    def add_team_members(self, team_guid: str, person_guids: Sequence[str]) -> list[tuple[str, ChangeKind]]:
        """`add_team_member` for many people of one team, in one call; each appointment's GUID and change."""
        return self._appoint_many("add_team_members", TEAM_MEMBERSHIP, "TeamMember", team_guid, person_guids)

    def add_team_leaders(self, team_guid: str, person_guids: Sequence[str]) -> list[tuple[str, ChangeKind]]:
        return self._appoint_many("add_team_leaders", TEAM_LEADERSHIP, "TeamLeader", team_guid, person_guids)

    def remove_team_member(self, team_guid: str, person_guid: str) -> None:
        self._relieve("remove_team_member", TEAM_MEMBERSHIP, team_guid, person_guid)

    def remove_team_leader(self, team_guid: str, person_guid: str) -> None:
        self._relieve("remove_team_leader", TEAM_LEADERSHIP, team_guid, person_guid)

    def get_team_members(self, team_guid: str) -> list[Element]:
        """The people appointed to the team's member roles."""
        return self._appointed(TEAM_MEMBERSHIP, team_guid)

    def get_team_leaders(self, team_guid: str) -> list[Element]:
        return self._appointed(TEAM_LEADERSHIP, team_guid)

    def _appoint(
        self,
        action: str,
        role_relationship: RelationshipKind,
        role_name: str,
        team_guid: str,
        person_guid: str,
        properties: Mapping[str, Any] | None,
    ) -> str:
        with self.write_transaction(action) as transaction:
            team = transaction.get_element(team_guid)
            if not self.is_type_of(team.type_name, TEAM.type_name):
                raise ValueError(f"{team_guid} is a {team.type_name}, not a Team")
            role_guid = self._team_role(transaction, team, role_relationship, role_name)
            appointment, _ = transaction.upsert_relationship(
                PERSON_ROLE_APPOINTMENT.type_name, person_guid, role_guid, properties
            )
            return appointment.guid

    def _appoint_many(
        self,
        action: str,
        role_relationship: RelationshipKind,
        role_name: str,
        team_guid: str,
        person_guids: Sequence[str],
    ) -> list[tuple[str, ChangeKind]]:
        """Appointments to the team's role found by its name. Why not `_team_role`: navigating the team's
        relationships flushes the transaction, once per team; a name lookup is answered from its cache."""
        with self.write_transaction(action) as transaction:
            team = transaction.get_element(team_guid)
            if not self.is_type_of(team.type_name, TEAM.type_name):
                raise ValueError(f"{team_guid} is a {team.type_name}, not a Team")
            qualified_name = f"{team.qualified_name}::{role_name}"
            role = transaction.find_element_by_name(qualified_name)
            if role is None or role.metadata_collection == transaction.actor:
                display_name = team.effective_properties.get("name", team.qualified_name)
                role, _ = transaction.upsert_element(
                    PERSON_ROLE.type_name, qualified_name, {"name": f"{role_name} of {display_name}"}
                )
            transaction.upsert_relationship(role_relationship.type_name, role.guid, team.guid)
            appointment = PERSON_ROLE_APPOINTMENT.type_name
            return transaction.upsert_relationships([(appointment, person, role.guid, None) for person in person_guids])

    def _team_role(
        self, transaction: Transaction, team: Element, role_relationship: RelationshipKind, role_name: str
    ) -> str:
        for role in transaction.get_related_elements(
            team.guid, relationship_type=role_relationship.type_name, at_end=2, page=page_of(0, MAX_PAGE_SIZE)
        ):
            return role.guid
        qualified_name = f"{team.qualified_name}::{role_name}"
        existing = transaction.find_element_by_name(qualified_name)
        if existing is not None and existing.metadata_collection != transaction.actor:
            role_guid = existing.guid
        else:
            display_name = team.effective_properties.get("name", team.qualified_name)
            role, _ = transaction.upsert_element(
                PERSON_ROLE.type_name, qualified_name, {"name": f"{role_name} of {display_name}"}
            )
            role_guid = role.guid
        transaction.upsert_relationship(role_relationship.type_name, role_guid, team.guid)
        return role_guid

    def _relieve(self, action: str, role_relationship: RelationshipKind, team_guid: str, person_guid: str) -> None:
        with self.write_transaction(action) as transaction:
            for role in transaction.get_related_elements(
                team_guid, relationship_type=role_relationship.type_name, at_end=2, page=page_of(0, MAX_PAGE_SIZE)
            ):
                for appointment in transaction.get_relationships(
                    role.guid, type_name=PERSON_ROLE_APPOINTMENT.type_name, page=page_of(0, MAX_PAGE_SIZE)
                ):
                    if appointment.end1_guid == person_guid:
                        transaction.delete_relationship(appointment.guid)

    def _appointed(self, role_relationship: RelationshipKind, team_guid: str) -> list[Element]:
        with self.read_transaction() as transaction:
            people: dict[str, Element] = {}
            for role in transaction.get_related_elements(
                team_guid, relationship_type=role_relationship.type_name, at_end=2, page=page_of(0, MAX_PAGE_SIZE)
            ):
                for person in transaction.get_related_elements(
                    role.guid,
                    relationship_type=PERSON_ROLE_APPOINTMENT.type_name,
                    at_end=2,
                    page=page_of(0, MAX_PAGE_SIZE),
                ):
                    people.setdefault(person.guid, person)
        return list(people.values())
