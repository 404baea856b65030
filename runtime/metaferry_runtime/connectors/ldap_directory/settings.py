"""The ldap-directory connector's configuration properties, and the attribute mappings of each directory kind.

A `profile` picks the defaults (`openldap`: inetOrgPerson people and groupOfNames / groupOfUniqueNames /
posixGroup groups; `active-directory`: user and group objects, sAMAccountName, memberOf, managedBy).
`people` and `groups` override single attributes of the profile's mapping, so a directory that keeps the
e-mail address in another attribute says only that:

    configurationProperties: {profile: openldap, people: {email: userPrincipalName}}
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self, TypeVar

from pydantic import Field, StrictBool, model_validator

from metaferry_runtime.sdk import ConnectorConfiguration

MappingT = TypeVar("MappingT", bound=ConnectorConfiguration)


class Profile(StrEnum):
    OPENLDAP = "openldap"
    ACTIVE_DIRECTORY = "active-directory"


class PeopleMapping(ConnectorConfiguration):
    """Which entries are people and which of their attributes give each property ("": not mapped)."""

    filter: str | None = None
    user_id: str | None = None
    full_name: str | None = None
    given_names: str | None = None
    surname: str | None = None
    email: str | None = None
    job_title: str | None = None
    employee_number: str | None = None
    employee_type: str | None = None
    telephone: str | None = None
    mobile: str | None = None
    manager: str | None = None
    member_of: str | None = None


class GroupsMapping(ConnectorConfiguration):
    """Which entries are groups; which attributes name them and hold members (DNs or, for posixGroup, uids)."""

    filter: str | None = None
    name: str | None = None
    description: str | None = None
    member_attributes: tuple[str, ...] | None = None
    member_uid_attribute: str | None = None
    leader_attribute: str | None = None


PROFILE_PEOPLE = {
    Profile.OPENLDAP: PeopleMapping(
        filter="(objectClass=inetOrgPerson)",
        user_id="uid",
        full_name="cn",
        given_names="givenName",
        surname="sn",
        email="mail",
        job_title="title",
        employee_number="employeeNumber",
        employee_type="employeeType",
        telephone="telephoneNumber",
        mobile="mobile",
        manager="manager",
    ),
    Profile.ACTIVE_DIRECTORY: PeopleMapping(
        filter="(&(objectCategory=person)(objectClass=user))",
        user_id="sAMAccountName",
        full_name="displayName",
        given_names="givenName",
        surname="sn",
        email="mail",
        job_title="title",
        employee_number="employeeID",
        employee_type="employeeType",
        telephone="telephoneNumber",
        mobile="mobile",
        manager="manager",
        member_of="memberOf",
    ),
}

PROFILE_GROUPS = {
    Profile.OPENLDAP: GroupsMapping(
        filter="(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup))",
        name="cn",
        description="description",
        member_attributes=("member", "uniqueMember"),
        member_uid_attribute="memberUid",
        leader_attribute="owner",
    ),
    Profile.ACTIVE_DIRECTORY: GroupsMapping(
        filter="(objectClass=group)",
        name="cn",
        description="description",
        member_attributes=("member",),
        member_uid_attribute=None,
        leader_attribute="managedBy",
    ),
}


class LdapDirectorySettings(ConnectorConfiguration):
    """The base DNs to read are the resource's catalogTargets and `baseDns`; at least one is needed."""

    profile: Profile = Field(default=Profile.OPENLDAP, description="openldap or active-directory")
    base_dns: tuple[str, ...] = Field(default=(), description="base DNs to read, beside catalogTargets")
    people: PeopleMapping = Field(default_factory=PeopleMapping, description="overrides of the people mapping")
    groups: GroupsMapping = Field(default_factory=GroupsMapping, description="overrides of the groups mapping")
    page_size: int = Field(default=500, ge=1, le=100_000, description="entries per page of the paged search")
    incremental: StrictBool = Field(
        default=True, description="true or false: read only entries changed since the last refresh"
    )
    modify_timestamp_attribute: str | None = Field(
        default=None,
        min_length=1,
        description="the attribute holding each entry's last change (default: entryCSN, else modifyTimestamp)",
    )
    manager_teams: StrictBool = Field(
        default=True, description="true or false: a team of direct reports for each manager, led by the manager"
    )
    connect_timeout_seconds: int = Field(default=10, ge=1, le=600, description="seconds, 1 to 600")
    search_timeout_seconds: int = Field(default=120, ge=1, description="seconds for each page, at least 1")
    validate_certificate: StrictBool = Field(default=True, description="true or false: check an ldaps:// certificate")
    ca_certificates_file: str | None = Field(default=None, description="a PEM file of CA certificates for ldaps://")

    @model_validator(mode="after")
    def _filters_are_parenthesised(self) -> Self:
        for what, value in (("people.filter", self.people.filter), ("groups.filter", self.groups.filter)):
            if value is not None and not (value.startswith("(") and value.endswith(")")):
                raise ValueError(f"{what} must be an LDAP filter in parentheses, such as (objectClass=person)")
        return self

    @property
    def people_mapping(self) -> PeopleMapping:
        """The profile's people mapping with this configuration's overrides."""
        return _merged(PROFILE_PEOPLE[self.profile], self.people)

    @property
    def groups_mapping(self) -> GroupsMapping:
        return _merged(PROFILE_GROUPS[self.profile], self.groups)


def _merged(defaults: MappingT, overrides: MappingT) -> MappingT:
    """The defaults with every override given; an empty string given unmaps that attribute."""
    return defaults.model_copy(update=overrides.model_dump(exclude_none=True))
