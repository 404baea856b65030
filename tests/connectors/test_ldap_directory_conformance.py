"""The ldap-directory connector as users and the runtime drive it: the conformance suite, `check` and `run` from
the command line with the example manifest (the bind DN and password never printed), and the Active
Directory profile's mapping.

No Active Directory server can be run here, so the profile is tested on entries shaped as Active Directory
returns them (user and group objects, sAMAccountName, memberOf, managedBy) through the same planning code
the connector runs; the OpenLDAP profile is tested end to end against slapd in test_ldap_directory.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from metaferry_runtime.cli import EXIT_OK, main
from metaferry_runtime.connectors.ldap_directory import LdapDirectoryConnector
from metaferry_runtime.connectors.ldap_directory.directory import DirectoryAddress, Entry
from metaferry_runtime.connectors.ldap_directory.model import (
    LEADER,
    MEMBER,
    TEAM_STRUCTURE,
    Naming,
    normal_dn,
    plan_organization,
)
from metaferry_runtime.connectors.ldap_directory.settings import LdapDirectorySettings
from metaferry_runtime.testing import conformance
from tests.ldap_server import PASSWORD, READER_DN, SUFFIX, Slapd

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ldap-connector.yaml"


def test_the_connector_conforms_with_its_bind_from_the_secret(ldap_directory: Slapd) -> None:
    report = conformance(
        LdapDirectoryConnector,
        endpoint=ldap_directory.url,
        catalog_targets=[SUFFIX],
        secrets={"bindDn": READER_DN, "password": PASSWORD},
    )
    assert report.first_refresh.created > 4_000  # 1,000 people with identities and contacts, 200 teams


def _example_for(server: Slapd, directory: Path) -> Path:
    """examples/ldap-connector.yaml pointed at the test server, its targets the whole suffix."""
    documents = list(yaml.safe_load_all(EXAMPLE.read_text()))
    connector = next(document for document in documents if document["kind"] == "IntegrationConnector")
    connector["spec"]["connection"]["endpoint"] = server.url
    connector["spec"]["catalogTargets"] = [f"ou=people,{SUFFIX}", f"ou=groups,{SUFFIX}"]
    path = directory / "people-directory.yaml"
    path.write_text(yaml.safe_dump(connector))
    return path


def test_check_and_run_from_the_command_line_never_print_the_bind_dn_or_password(
    ldap_directory: Slapd, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = _example_for(ldap_directory, tmp_path)
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "bindDn").write_text(READER_DN)
    (secrets / "password").write_text(PASSWORD)
    repository = f"sqlite:///{tmp_path / 'r.db'}"

    assert main(["check", str(manifest), "--secrets-dir", str(secrets), "--repository", repository]) == EXIT_OK
    checked = capsys.readouterr().out
    for step in ("connect", "paged search", f"base DN ou=people,{SUFFIX}", f"base DN ou=groups,{SUFFIX}"):
        assert step in checked, checked
    assert main(["run", str(manifest), "--once", "--secrets-dir", str(secrets), "--repository", repository]) == EXIT_OK
    ran = capsys.readouterr()
    assert "result           succeeded" in ran.out

    (secrets / "password").write_text("not-the-password")
    assert main(["check", str(manifest), "--secrets-dir", str(secrets), "--repository", repository]) != EXIT_OK
    failed = capsys.readouterr().out
    assert "refused the bind DN and password from the Secret" in failed
    for output in (checked, ran.out, ran.err, failed):
        assert PASSWORD not in output and "not-the-password" not in output and READER_DN not in output


def test_the_active_directory_profile_maps_users_groups_member_of_and_managed_by() -> None:
    settings = LdapDirectorySettings(profile="active-directory")
    base = "dc=corp,dc=example,dc=com"
    alice = Entry(
        f"CN=Alice Smith,OU=Staff,{base}",
        {
            "samaccountname": ["asmith"],
            "displayname": ["Alice Smith"],
            "mail": ["alice@corp.example.com"],
            "employeeid": ["E-1"],
            "memberof": [f"CN=Engineering,OU=Groups,{base}"],
        },
    )
    bob = Entry(
        f"CN=Bob Jones,OU=Staff,{base}",
        {"samaccountname": ["bjones"], "displayname": ["Bob Jones"], "manager": [f"CN=Alice Smith,OU=Staff,{base}"]},
    )
    engineering = Entry(
        f"CN=Engineering,OU=Groups,{base}",
        {"cn": ["Engineering"], "member": [f"CN=Platform,OU=Groups,{base}"], "managedby": [alice.dn]},
    )
    platform = Entry(f"CN=Platform,OU=Groups,{base}", {"cn": ["Platform"], "member": [bob.dn]})
    naming = Naming(DirectoryAddress("ldaps", "dc1", 636))
    key = naming.of
    plan = plan_organization(
        people={normal_dn(entry.dn): entry for entry in (alice, bob)},
        groups={normal_dn(entry.dn): entry for entry in (engineering, platform)},
        people_mapping=settings.people_mapping,
        groups_mapping=settings.groups_mapping,
        naming=naming,
        manager_teams=True,
    )
    assert plan.elements[key(alice.dn)][1]["employeeNumber"] == "E-1"
    assert plan.elements[f"{key(alice.dn)}::UserIdentity"][1]["userId"] == "asmith"
    assert {link for link in plan.links if link[0] in (MEMBER, LEADER, TEAM_STRUCTURE)} == {
        (MEMBER, key(engineering.dn), key(alice.dn)),  # memberOf on the user
        (LEADER, key(engineering.dn), key(alice.dn)),  # managedBy on the group
        (TEAM_STRUCTURE, key(engineering.dn), key(platform.dn)),
        (MEMBER, key(platform.dn), key(bob.dn)),
        (LEADER, f"{key(alice.dn)}::DirectReports", key(alice.dn)),
        (MEMBER, f"{key(alice.dn)}::DirectReports", key(bob.dn)),
    }
    assert key(alice.dn) == "ldap://dc1:636/cn=alice smith,ou=staff,dc=corp,dc=example,dc=com"


def test_a_mapping_override_keeps_the_rest_of_the_profile() -> None:
    settings = LdapDirectorySettings.model_validate({"profile": "active-directory", "people": {"email": "upn"}})
    assert settings.people_mapping.email == "upn"
    assert settings.people_mapping.user_id == "sAMAccountName"
    assert settings.groups_mapping.leader_attribute == "managedBy"
