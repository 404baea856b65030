"""The ldap-directory connector against a real OpenLDAP slapd loaded with 1,000 people and 100 nested groups:
what it catalogues, what a change in the directory changes in the repository (exactly, and incrementally),
and the errors a user sees. The server's size limit is 500, below the number of people, so every test that
reads the whole directory also proves the paged search."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import ldap3
import pytest

from metaferry_runtime.connectors.ldap_directory import LdapDirectoryConnector
from metaferry_runtime.repository import Element
from metaferry_runtime.sdk import ConnectorConfigurationError, ConnectorError, InvalidConfiguration
from metaferry_runtime.testing import (
    ConnectorHarness,
    HarnessFactory,
    assert_refresh_writes_nothing,
    element_named,
    elements_under,
    last_refresh_changes,
    relationships_between,
)
from tests.ldap_server import GROUPS, PASSWORD, PEOPLE, READER_DN, ROOT_DN, SUFFIX, Organization, Slapd

Driven = ConnectorHarness[LdapDirectoryConnector]
SECRETS = {"bindDn": READER_DN, "password": PASSWORD}


@pytest.fixture
def catalogue(connector_harness: HarnessFactory) -> Callable[..., Driven]:
    """catalogue(server, config=, secrets=, targets=): the connector, configured and started by the kit."""

    def make(
        server: Slapd,
        *,
        config: dict[str, Any] | None = None,
        secrets: dict[str, str] | None = None,
        targets: list[str] | None = None,
        **kwargs: Any,
    ) -> Driven:
        return connector_harness(
            LdapDirectoryConnector,
            endpoint=server.url,
            configuration_properties=config,
            secrets=SECRETS if secrets is None else secrets,
            catalog_targets=[SUFFIX] if targets is None else targets,
            **kwargs,
        )

    return make


@pytest.fixture
def admin(changing_directory: Slapd) -> Iterator[ldap3.Connection]:
    """A connection as the directory's root DN, to change the directory between refreshes."""
    connection = ldap3.Connection(changing_directory.url, ROOT_DN, PASSWORD, auto_bind=True, raise_exceptions=True)
    yield connection
    connection.unbind()


def name(server: Slapd, dn: str) -> str:
    return f"ldap://127.0.0.1:{server.port}/{dn.lower()}"


def people_of(driven: Driven, team: Element) -> set[str]:
    return {person.qualified_name for person in driven.connector.context.get_team_members(team.guid)}


def last_message(driven: Driven) -> str:
    return [record.text for record in driven.audit_records() if record.message_id.endswith("-0002")][-1]


# --- what is catalogued ----------------------------------------------------------------------------------------
def test_every_person_is_catalogued_with_identity_and_contact_details(
    ldap_directory: Slapd, ldap_organization: Organization, catalogue: Callable[..., Driven]
) -> None:
    driven = catalogue(ldap_directory)
    driven.refresh()
    prefix = f"ldap://127.0.0.1:{ldap_directory.port}/"

    assert len(elements_under(driven, "Person", prefix)) == ldap_organization.people
    person = name(ldap_directory, ldap_organization.person_dn(42))
    assert element_named(driven, person).properties == {
        "name": "Given42 Surname42",
        "fullName": "Given42 Surname42",
        "givenNames": "Given42",
        "surname": "Surname42",
        "jobTitle": "Engineer",
        "employeeNumber": "100042",
    }
    identity = element_named(driven, f"{person}::UserIdentity")
    assert identity.properties["userId"] == "user00042"
    assert identity.properties["distinguishedName"] == ldap_organization.person_dn(42)
    assert relationships_between(driven, person, f"{person}::UserIdentity", type_name="ProfileIdentity")
    contacts = driven.connector.context.get_contact_methods(element_named(driven, person).guid)
    assert {(c.properties["contactMethodType"], c.properties["contactMethodValue"]) for c in contacts} == {
        ("EMAIL", "user00042@example.org"),
        ("PHONE", "+1 555 0000042"),
    }


def test_groups_become_nested_teams_with_their_members_and_owners_as_leaders(
    ldap_directory: Slapd, ldap_organization: Organization, catalogue: Callable[..., Driven]
) -> None:
    driven = catalogue(ldap_directory)
    driven.refresh()
    context = driven.connector.context
    org = ldap_organization

    groups = {qn for qn in elements_under(driven, "Team") if qn.split("/")[-1].endswith(GROUPS)}
    assert len(groups) == org.groups == 100
    root = element_named(driven, name(ldap_directory, org.group_dn(0)))
    assert root.properties["name"] == "team0000" and root.properties["description"] == "Team number 0"
    assert {t.qualified_name for t in context.get_sub_teams(root.guid)} == {
        name(ldap_directory, org.group_dn(index)) for index in (1, 2, 3, 4)
    }
    # Every kind of group: groupOfNames (0), groupOfUniqueNames (1), posixGroup by memberUid (a leaf).
    kinds = {org.group_kind(index): index for index in range(org.groups)}
    assert set(kinds) == {"groupOfNames", "groupOfUniqueNames", "posixGroup"}
    for index in kinds.values():
        team = element_named(driven, name(ldap_directory, org.group_dn(index)))
        expected = {name(ldap_directory, org.person_dn(person)) for person in org.members(index)}
        assert people_of(driven, team) == expected, org.group_kind(index)
    owner = element_named(driven, name(ldap_directory, org.group_dn(1)))
    assert {p.qualified_name for p in context.get_team_leaders(owner.guid)} == {
        name(ldap_directory, org.person_dn(org.members(1)[0]))
    }
    # Four levels of nesting: 100 groups at fan-out 4.
    deepest = element_named(driven, name(ldap_directory, org.group_dn(99)))
    chain = []
    team = deepest
    while parents := context.get_super_teams(team.guid):
        (team,) = [t for t in parents if t.qualified_name.endswith(GROUPS)]
        chain.append(team.properties["name"])
    assert chain == ["team0024", "team0005", "team0001", "team0000"]


def test_each_manager_leads_a_team_of_direct_reports_within_their_managers_team(
    ldap_directory: Slapd, ldap_organization: Organization, catalogue: Callable[..., Driven]
) -> None:
    driven = catalogue(ldap_directory)
    driven.refresh()
    context = driven.connector.context
    manager = name(ldap_directory, ldap_organization.person_dn(10))
    reports = element_named(driven, f"{manager}::DirectReports")
    assert reports.properties["name"] == "Direct reports of Given10 Surname10"
    assert {p.qualified_name for p in context.get_team_leaders(reports.guid)} == {manager}
    assert people_of(driven, reports) == {name(ldap_directory, ldap_organization.person_dn(i)) for i in range(11, 20)}
    (above,) = context.get_super_teams(reports.guid)
    assert above.qualified_name == name(ldap_directory, ldap_organization.person_dn(0)) + "::DirectReports"


def test_a_directory_over_the_size_limit_is_read_whole_by_paged_search(
    ldap_directory: Slapd, ldap_organization: Organization, catalogue: Callable[..., Driven]
) -> None:
    reader = ldap3.Connection(ldap_directory.url, READER_DN, PASSWORD, auto_bind=True)
    try:
        reader.search(PEOPLE, "(objectClass=inetOrgPerson)", attributes=["1.1"])
        assert reader.result["description"] == "sizeLimitExceeded"  # the server refuses an unpaged read
    finally:
        reader.unbind()
    driven = catalogue(ldap_directory, config={"pageSize": 100})
    driven.refresh()
    assert len(elements_under(driven, "Person")) == ldap_organization.people == 1_000


def test_a_second_refresh_without_change_writes_nothing_and_reads_incrementally(
    ldap_directory: Slapd, catalogue: Callable[..., Driven]
) -> None:
    driven = catalogue(ldap_directory)
    driven.refresh()
    assert "full read" in last_message(driven)
    assert_refresh_writes_nothing(driven)
    assert "incremental read, 0 entries read" in last_message(driven)


def test_base_dns_limit_what_is_read(
    ldap_directory: Slapd, ldap_organization: Organization, catalogue: Callable[..., Driven]
) -> None:
    driven = catalogue(ldap_directory, targets=[PEOPLE])
    driven.refresh()
    assert len(elements_under(driven, "Person")) == ldap_organization.people
    assert not [qn for qn in elements_under(driven, "Team") if qn.endswith(GROUPS)]


def test_mappings_and_filters_are_configurable(
    ldap_directory: Slapd, ldap_organization: Organization, catalogue: Callable[..., Driven]
) -> None:
    config = {
        "people": {"filter": "(&(objectClass=inetOrgPerson)(title=Manager))", "jobTitle": "", "email": "uid"},
        "groups": {"filter": "(objectClass=posixGroup)"},
        "managerTeams": False,
    }
    driven = catalogue(ldap_directory, config=config)
    driven.refresh()
    people = elements_under(driven, "Person")
    assert len(people) == ldap_organization.people // 10
    person = people[name(ldap_directory, ldap_organization.person_dn(10))]
    assert "jobTitle" not in person.properties
    contacts = driven.connector.context.get_contact_methods(person.guid)
    assert {c.properties["contactMethodValue"] for c in contacts if c.properties["contactMethodType"] == "EMAIL"} == {
        "user00010"
    }
    teams = elements_under(driven, "Team")
    posix = [index for index in range(ldap_organization.groups) if ldap_organization.group_kind(index) == "posixGroup"]
    assert set(teams) == {name(ldap_directory, ldap_organization.group_dn(index)) for index in posix}


# --- changes between refreshes ---------------------------------------------------------------------------------
def test_changes_in_the_directory_give_exactly_the_expected_changes_incrementally(
    changing_directory: Slapd,
    ldap_organization: Organization,
    admin: ldap3.Connection,
    catalogue: Callable[..., Driven],
) -> None:
    org, server = ldap_organization, changing_directory
    driven = catalogue(server)
    driven.refresh()
    moved, leaver, newcomer = org.person_dn(5), org.person_dn(7), f"uid=newcomer,{PEOPLE}"
    team0, team2 = org.group_dn(0), org.group_dn(2)  # groupOfNames, groupOfNames

    admin.modify(moved, {"title": [(ldap3.MODIFY_REPLACE, ["Architect"])]})
    admin.delete(leaver)
    admin.modify(team0, {"member": [(ldap3.MODIFY_DELETE, [leaver, org.person_dn(6)])]})
    admin.add(
        newcomer, ["inetOrgPerson"], {"cn": "New Comer", "sn": "Comer", "uid": "newcomer", "mail": "n@example.org"}
    )
    admin.modify(team2, {"member": [(ldap3.MODIFY_ADD, [newcomer])]})
    driven.refresh()

    assert "incremental read" in last_message(driven)
    changes = last_refresh_changes(driven)
    assert changes.updated == {name(server, moved)}
    leaver_name = name(server, leaver)
    assert changes.archived == {
        leaver_name,
        f"{leaver_name}::UserIdentity",
        f"{leaver_name}::ContactDetails::email",
        f"{leaver_name}::ContactDetails::phone",
    }
    assert changes.created == {
        name(server, newcomer),
        f"{name(server, newcomer)}::UserIdentity",
        f"{name(server, newcomer)}::ContactDetails::email",
    }
    assert element_named(driven, name(server, moved)).properties["jobTitle"] == "Architect"
    members0 = people_of(driven, element_named(driven, name(server, team0)))
    assert name(server, org.person_dn(6)) not in members0 and name(server, org.person_dn(0)) in members0
    assert name(server, newcomer) in people_of(driven, element_named(driven, name(server, team2)))
    assert_refresh_writes_nothing(driven)


def test_a_new_sub_group_is_linked_and_a_removed_one_unlinked(
    changing_directory: Slapd,
    ldap_organization: Organization,
    admin: ldap3.Connection,
    catalogue: Callable[..., Driven],
) -> None:
    org, server = ldap_organization, changing_directory
    driven = catalogue(server)
    driven.refresh()
    context = driven.connector.context
    admin.modify(org.group_dn(0), {"member": [(ldap3.MODIFY_DELETE, [org.group_dn(4)])]})
    new_team = f"cn=platform,{GROUPS}"
    admin.add(new_team, ["groupOfNames"], {"cn": "platform", "member": [org.person_dn(1)]})
    admin.modify(org.group_dn(0), {"member": [(ldap3.MODIFY_ADD, [new_team])]})
    driven.refresh()
    root = element_named(driven, name(server, org.group_dn(0)))
    assert {t.qualified_name for t in context.get_sub_teams(root.guid)} == {
        name(server, dn) for dn in (org.group_dn(1), org.group_dn(2), org.group_dn(3), new_team)
    }


def test_after_a_restart_a_membership_ended_while_down_is_removed(
    changing_directory: Slapd,
    ldap_organization: Organization,
    admin: ldap3.Connection,
    catalogue: Callable[..., Driven],
    tmp_path: Any,
) -> None:
    org, server = ldap_organization, changing_directory
    repository_url = f"sqlite:///{tmp_path / 'catalogue.db'}"
    first = catalogue(server, repository_url=repository_url)
    first.refresh()
    first.close()
    admin.modify(org.group_dn(0), {"member": [(ldap3.MODIFY_DELETE, [org.person_dn(3)])]})
    second = catalogue(server, repository_url=repository_url)
    second.refresh()
    assert "full read" in last_message(second)
    team = element_named(second, name(server, org.group_dn(0)))
    assert name(server, org.person_dn(3)) not in people_of(second, team)
    assert name(server, org.person_dn(4)) in people_of(second, team)


def test_an_element_missing_from_the_repository_is_catalogued_again(
    ldap_directory: Slapd, ldap_organization: Organization, catalogue: Callable[..., Driven]
) -> None:
    """The in-memory state says the person is catalogued; the repository (purged) says not: the repository wins."""
    driven = catalogue(ldap_directory)
    driven.refresh()
    person = element_named(driven, name(ldap_directory, ldap_organization.person_dn(9)))
    with driven.repository.transaction(actor=driven.metadata_source) as transaction:
        transaction.delete_element(person.guid)
    driven.refresh()
    assert last_refresh_changes(driven).created == {person.qualified_name}
    assert_refresh_writes_nothing(driven)


def test_a_refresh_whose_commit_was_lost_is_not_trusted_by_the_next(
    changing_directory: Slapd,
    ldap_organization: Organization,
    admin: ldap3.Connection,
    catalogue: Callable[..., Driven],
) -> None:
    driven = catalogue(changing_directory)
    driven.refresh()
    person = name(changing_directory, ldap_organization.person_dn(5))
    admin.modify(ldap_organization.person_dn(5), {"title": [(ldap3.MODIFY_REPLACE, ["Architect"])]})

    def refresh_whose_commit_fails() -> None:
        with driven.context.refresh_batch("lost"):
            driven.connector.refresh()
            raise RuntimeError("the commit fails")  # after refresh() returned: its transaction rolls back

    with pytest.raises(RuntimeError, match="the commit fails"):
        refresh_whose_commit_fails()
    assert element_named(driven, person).properties["jobTitle"] == "Engineer"
    driven.refresh()
    assert element_named(driven, person).properties["jobTitle"] == "Architect"


def test_a_lost_refresh_that_only_changed_a_membership_is_not_trusted_either(
    changing_directory: Slapd,
    ldap_organization: Organization,
    admin: ldap3.Connection,
    catalogue: Callable[..., Driven],
) -> None:
    org, server = ldap_organization, changing_directory
    driven = catalogue(server)
    driven.refresh()
    admin.modify(org.group_dn(0), {"member": [(ldap3.MODIFY_DELETE, [org.person_dn(3)])]})

    def refresh_whose_commit_fails() -> None:
        with driven.context.refresh_batch("lost"):
            driven.connector.refresh()
            raise RuntimeError("the commit fails")

    with pytest.raises(RuntimeError, match="the commit fails"):
        refresh_whose_commit_fails()
    team = element_named(driven, name(server, org.group_dn(0)))
    assert name(server, org.person_dn(3)) in people_of(driven, team)
    driven.refresh()
    assert name(server, org.person_dn(3)) not in people_of(driven, team)


def test_without_modify_timestamps_every_refresh_reads_in_full_and_stays_correct(
    changing_directory: Slapd,
    ldap_organization: Organization,
    admin: ldap3.Connection,
    catalogue: Callable[..., Driven],
) -> None:
    driven = catalogue(changing_directory, config={"modifyTimestampAttribute": "carLicense"})
    driven.refresh()
    admin.modify(ldap_organization.person_dn(5), {"title": [(ldap3.MODIFY_REPLACE, ["Architect"])]})
    driven.refresh()
    assert "full read" in last_message(driven)
    assert last_refresh_changes(driven).updated == {name(changing_directory, ldap_organization.person_dn(5))}
    assert any(record.message_id.endswith("-0003") for record in driven.audit_records())


# --- errors users see ------------------------------------------------------------------------------------------
def test_a_wrong_password_is_a_configuration_error(ldap_directory: Slapd, catalogue: Callable[..., Driven]) -> None:
    with pytest.raises(ConnectorConfigurationError, match="refused the bind DN and password from the Secret"):
        catalogue(ldap_directory, secrets={"bindDn": READER_DN, "password": "not-the-password"})


def test_an_unreachable_server_is_a_failure_to_retry(catalogue: Callable[..., Driven]) -> None:
    from tests.ldap_server import free_port

    unreachable = Slapd(binary=None, directory=None, port=free_port())  # type: ignore[arg-type]
    with pytest.raises(ConnectorError, match="cannot reach the directory") as raised:
        catalogue(unreachable)
    assert not isinstance(raised.value, ConnectorConfigurationError)


def test_credentials_in_the_endpoint_are_refused(connector_harness: HarnessFactory) -> None:
    with pytest.raises(ConnectorConfigurationError, match="put the bind DN and password in the Secret"):
        connector_harness(LdapDirectoryConnector, endpoint="ldap://admin:pw@127.0.0.1:1", catalog_targets=[SUFFIX])


def test_a_missing_base_dn_fails_start(ldap_directory: Slapd, catalogue: Callable[..., Driven]) -> None:
    with pytest.raises(ConnectorConfigurationError, match="ou=nowhere,dc=example,dc=org are not in"):
        catalogue(ldap_directory, targets=[SUFFIX, "ou=nowhere,dc=example,dc=org"])


def test_a_base_dn_that_disappears_fails_the_refresh_and_archives_nothing(
    changing_directory: Slapd, admin: ldap3.Connection, catalogue: Callable[..., Driven]
) -> None:
    base = f"ou=contractors,{SUFFIX}"
    admin.add(base, ["organizationalUnit"], {"ou": "contractors"})
    admin.add(f"uid=c1,{base}", ["inetOrgPerson"], {"cn": "C One", "sn": "One", "uid": "c1"})
    driven = catalogue(changing_directory, targets=[base])
    driven.refresh()
    admin.delete(f"uid=c1,{base}")
    admin.delete(base)
    with pytest.raises(ConnectorError, match=r"is no longer in .* nothing was archived"):
        driven.refresh()
    assert set(elements_under(driven, "Person")) == {name(changing_directory, f"uid=c1,{base}")}


def test_invalid_configuration_properties_are_named(ldap_directory: Slapd, catalogue: Callable[..., Driven]) -> None:
    with pytest.raises(InvalidConfiguration, match=r"configurationProperties\.profile"):
        catalogue(ldap_directory, config={"profile": "novell"})
    with pytest.raises(InvalidConfiguration, match="must be an LDAP filter in parentheses"):
        catalogue(ldap_directory, config={"people": {"filter": "objectClass=person"}})
