"""examples/ldap-connector.yaml on the test cluster: a real OpenLDAP slapd on loopback, the bind password in
a Secret, the people and nested teams in the release's shared PostgreSQL repository, a person added to the
directory catalogued after `kubectl annotate`, and the password nowhere a user or operator looks.

The release is installed with an external repository (`repository.mode=external`), as a platform team
would, so the test reads the organization the connector pod wrote from the repository itself.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import ldap3
import pytest
import yaml

from metaferry_runtime.repository import Element, MetadataRepository
from metaferry_runtime.repository.model import Page
from tests.e2e.conftest import (
    EXAMPLES,
    RELEASE_NAMESPACE,
    Cli,
    Json,
    installed_on_external_repository,
    request_refresh,
    wait_connector_ready,
    wait_refresh_handled,
)
from tests.ldap_server import (
    GROUPS,
    PASSWORD,
    PEOPLE,
    ROOT_DN,
    SUFFIX,
    Organization,
    Slapd,
    SlapdUnavailable,
    start_slapd,
)
from tests.waiting import wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.postgres, pytest.mark.ldap]

NAMESPACE = "people"
CONNECTOR = "people-directory"
#: Small enough to read quickly on a loaded machine, big enough for nesting (team0000 holds team0001..0004)
#: and managers (person 0 leads 1-9 and 10, 20, 30; persons 10, 20 and 30 lead the nine after them).
ORGANIZATION = Organization(people=40, groups=5)
MANAGER_TEAMS = 4
READER = f"cn=e2e-reader,{SUFFIX}"
WHOLE = Page(page_size=1_000)


@pytest.fixture(scope="module")
def reader_password() -> str:
    return f"ldap-{secrets.token_hex(16)}"


@pytest.fixture(scope="module")
def directory(reader_password: str) -> Iterator[Slapd]:
    """slapd loaded with the organization and a reader of this test's own, whose password only the Secret holds."""
    reader = {
        "dn": [READER],
        "objectClass": ["organizationalRole", "simpleSecurityObject"],
        "cn": ["e2e-reader"],
        "userPassword": [reader_password],
    }
    try:
        server = start_slapd([*ORGANIZATION.build().entries, reader])
    except SlapdUnavailable as error:
        pytest.fail(str(error), pytrace=False)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def release(cli: Cli, catalogue: str) -> Iterator[None]:
    with installed_on_external_repository(cli, catalogue, connector_namespace=NAMESPACE):
        yield


def example_manifest(server: Slapd, password: str, directory: Path) -> Path:
    """examples/ldap-connector.yaml pointed at the test slapd, its Secret holding the reader's DN and password."""
    secret, connector = yaml.safe_load_all((EXAMPLES / "ldap-connector.yaml").read_text())
    assert connector["metadata"]["name"] == CONNECTOR
    assert connector["spec"]["catalogTargets"] == [PEOPLE, GROUPS]  # the example's base DNs are the test's
    secret["stringData"] = {"bindDn": READER, "password": password}
    connector["spec"]["connection"]["endpoint"] = server.url
    path = directory / "ldap-connector.yaml"
    path.write_text(yaml.safe_dump_all([secret, connector], sort_keys=False))
    return path


def name(server: Slapd, dn: str) -> str:
    return f"ldap://127.0.0.1:{server.port}/{dn.lower()}"


def owned(repository: MetadataRepository, type_name: str) -> dict[str, Element]:
    with repository.transaction(actor="test/reader") as transaction:
        found = transaction.find_elements(
            type_name=type_name, metadata_collection=f"{NAMESPACE}/{CONNECTOR}", page=WHOLE
        )
    return {element.qualified_name: element for element in found}


def sub_teams(repository: MetadataRepository, team: Element) -> set[str]:
    with repository.transaction(actor="test/reader") as transaction:
        found = transaction.get_related_elements(team.guid, relationship_type="TeamStructure", at_end=1, page=WHOLE)
    return {element.qualified_name for element in found}


def status_of(cli: Cli) -> Json:
    obj = cli.get(f"ic/{CONNECTOR}", "-n", NAMESPACE)
    return dict((obj or {}).get("status") or {})


def refreshed(cli: Cli, *, more_than: int) -> Json:
    """The status once refreshCount is above `more_than` and the refresh's statistics are reported."""

    def done() -> Json | None:
        status = status_of(cli)
        return status if status.get("refreshCount", 0) > more_than and status.get("statistics") else None

    try:
        return wait_for(done, timeout=180, interval=0.5, what=f"refresh number {more_than + 1} reported")
    except TimeoutError as error:
        raise AssertionError(f"{error}\nstatus: {status_of(cli)}\n{cli.connector_logs(NAMESPACE)}") from None


def everything_shown(cli: Cli) -> str:
    """What a user or operator can read: every object but Secrets as YAML, the events, and every pod's whole
    log (the operator's and the connector's), as the pod runner wrote them."""
    shown = []
    for namespace in (NAMESPACE, RELEASE_NAMESPACE):
        kinds = "ic,pods,deployments,replicasets,services,configmaps,serviceaccounts,roles,rolebindings"
        shown.append(cli.kubectl("get", kinds, "-n", namespace, "-o", "yaml").stdout)
        shown.append(cli.kubectl("get", "events", "-n", namespace, "-o", "yaml").stdout)
        logs = sorted((cli.runner.log_dir / namespace).glob("*/*.log"))
        assert logs, f"no pod logs in {namespace}"
        shown += [path.read_text(errors="replace") for path in logs]
    return "\n".join(shown)


def test_the_ldap_connector_catalogues_people_and_nested_teams_and_a_new_person_after_a_refresh(
    cli: Cli,
    release: None,
    directory: Slapd,
    reader_password: str,
    repository: MetadataRepository,
    pod_visible_dirs: Callable[[str], Path],
) -> None:
    manifest = example_manifest(directory, reader_password, pod_visible_dirs("ldap-connector"))
    cli.kubectl("apply", "-f", str(manifest), "-n", NAMESPACE)
    wait_connector_ready(cli, NAMESPACE, CONNECTOR)
    first = refreshed(cli, more_than=0)
    assert not first.get("lastError"), first
    assert first["statistics"]["created"] > 0 and first["statistics"]["archived"] == 0, first

    people = owned(repository, "Person")
    assert set(people) == {name(directory, ORGANIZATION.person_dn(i)) for i in range(ORGANIZATION.people)}
    assert people[name(directory, ORGANIZATION.person_dn(7))].properties["employeeNumber"] == "100007"
    identities = owned(repository, "UserIdentity")
    assert identities[f"{name(directory, ORGANIZATION.person_dn(7))}::UserIdentity"].properties["userId"] == "user00007"
    teams = owned(repository, "Team")
    groups = {name(directory, ORGANIZATION.group_dn(i)) for i in range(ORGANIZATION.groups)}
    assert groups <= set(teams) and len(teams) == ORGANIZATION.groups + MANAGER_TEAMS, sorted(teams)
    root = teams[name(directory, ORGANIZATION.group_dn(0))]
    assert sub_teams(repository, root) == {name(directory, ORGANIZATION.group_dn(i)) for i in (1, 2, 3, 4)}

    # A person joins the directory: the refresh a user asks for catalogues them (an incremental read).
    newcomer = f"uid=user00040,{PEOPLE}"
    admin = ldap3.Connection(directory.url, ROOT_DN, PASSWORD, auto_bind=True, raise_exceptions=True)
    try:
        admin.add(
            newcomer,
            ["inetOrgPerson"],
            {"uid": "user00040", "cn": "New Comer", "givenName": "New", "sn": "Comer", "employeeNumber": "100040"},
        )
    finally:
        admin.unbind()
    token = request_refresh(cli, NAMESPACE, CONNECTOR)
    wait_refresh_handled(cli, NAMESPACE, CONNECTOR, token)
    after = refreshed(cli, more_than=first["refreshCount"])
    assert not after.get("lastError"), after
    assert after["statistics"]["created"] > 0 and after["statistics"]["archived"] == 0, after
    people = owned(repository, "Person")
    assert len(people) == ORGANIZATION.people + 1
    assert people[name(directory, newcomer)].properties["fullName"] == "New Comer"

    shown = everything_shown(cli)
    assert directory.url in shown and CONNECTOR in shown  # what was read is the real thing
    assert reader_password not in shown
    assert base64.b64encode(reader_password.encode()).decode() not in shown
