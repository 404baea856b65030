"""Fixtures of the connector tests: a real directory tree, the deadline wait the watch-mode tests need, a
real OPA server, a real OpenLDAP slapd, for openapi-monitor the real-world documents (installed from npm
packages) and a real HTTP server, for grafana-dashboards the dashboards of an npm package and a Grafana API
server, and a running openlineage-receiver.

Connectors themselves are driven by the test kit (`metaferry_runtime.testing`, whose `connector_harness`
fixture comes from its pytest plugin), exactly as an outside author's tests drive theirs.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from metaferry_runtime.testing import HarnessFactory
from tests.connectors.datahub_cli import DataHubCli, DataHubUnavailable, install_datahub
from tests.connectors.grafana_server import GRAFANA_TOKEN, GrafanaServer
from tests.connectors.grafana_server import serving as serving_grafana
from tests.connectors.openapi_server import DocumentServer, serving
from tests.connectors.openlineage_client import Receiver, start_receiver
from tests.kafka_server import KafkaBroker, KafkaUnavailable, start_kafka
from tests.ldap_server import Organization, Slapd, SlapdUnavailable, start_slapd
from tests.opa_server import OpaServer, OpaUnavailable, start_opa


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """root/{orders.csv, events.json, readme, .hidden, sales/{q1.parquet, 2024/{jan.avro}}}"""
    root = tmp_path / "tree"
    (root / "sales" / "2024").mkdir(parents=True)
    (root / "orders.csv").write_text("id,total\n1,10\n")
    (root / "events.json").write_text("{}")
    (root / "readme").write_text("hello")
    (root / ".hidden").write_text("secret-ish")
    (root / "sales" / "q1.parquet").write_bytes(b"PAR1")
    (root / "sales" / "2024" / "jan.avro").write_bytes(b"Obj")
    return root


@pytest.fixture(scope="session")
def opa_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpaServer]:
    """A real Open Policy Agent on loopback for the session, built by scripts/install-opa.sh on first use.

    If it cannot be built or started the tests fail with the command to run; they never skip."""
    try:
        server = start_opa(tmp_path_factory.mktemp("opa"))
    except OpaUnavailable as error:
        pytest.fail(str(error), pytrace=False)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    """A real Apache Kafka broker (KRaft, one node) on loopback for the session, installed by
    scripts/install-kafka.sh on first use. If it cannot be had the tests fail with the command; never skip."""
    try:
        broker = start_kafka(tmp_path_factory.mktemp("kafka"))
    except KafkaUnavailable as error:
        pytest.fail(str(error), pytrace=False)
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def datahub() -> DataHubCli:
    """DataHub's own CLI (PyPI acryl-datahub) in a cached virtualenv of its own, installed by
    scripts/install-datahub.sh on first use; if it cannot be installed the tests fail with the command."""
    try:
        return install_datahub()
    except DataHubUnavailable as error:
        pytest.fail(str(error), pytrace=False)


# --- openapi-monitor: real documents from npm packages, and a real HTTP server on loopback -----------------
@pytest.fixture(scope="session")
def openapi_documents() -> Path:
    """The directory scripts/install-openapi-documents.sh fills (and prints last); its failure fails the test."""
    script = Path(__file__).resolve().parents[2] / "scripts" / "install-openapi-documents.sh"
    result = subprocess.run([str(script)], capture_output=True, text=True, timeout=900, check=False)
    if result.returncode != 0:
        pytest.fail(
            f"{script} failed (it needs npm and the npm registry; run it by hand to see why):\n{result.stderr[-2000:]}",
            pytrace=False,
        )
    return Path(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def document_server() -> Iterator[DocumentServer]:
    with serving() as server:
        yield server


@pytest.fixture
def lineage_repository_url(tmp_path: Path) -> str:
    """The repository the receiver writes to (and other connectors of a test, to be linked to)."""
    return f"sqlite:///{tmp_path / 'lineage.db'}"


@pytest.fixture
def receiver(
    connector_harness: HarnessFactory, tmp_path: Path, lineage_repository_url: str, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Receiver]:
    """receiver(**configuration properties): the connector, started and serving on a free loopback port."""
    monkeypatch.setenv("METAFERRY_LISTEN_HOST", "127.0.0.1")

    def make(**config: Any) -> Receiver:
        return start_receiver(
            connector_harness, journal=tmp_path / "journal", repository_url=lineage_repository_url, **config
        )

    return make


# --- OpenLDAP slapd (tests/ldap_server.py) ---------------------------------------------------------------------
#: The directory the ldap-directory tests read: over the size limit of 500 (so only a paged search reads it
#: whole), 100 groups nested four to a parent, of every kind the default filters know.
PEOPLE_IN_TEST_DIRECTORY = 1_000
GROUPS_IN_TEST_DIRECTORY = 100


def _slapd(organization: Organization) -> Slapd:
    try:
        return start_slapd(organization.entries)
    except SlapdUnavailable as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(scope="session")
def ldap_organization() -> Organization:
    return Organization(people=PEOPLE_IN_TEST_DIRECTORY, groups=GROUPS_IN_TEST_DIRECTORY).build()


@pytest.fixture(scope="session")
def ldap_directory(ldap_organization: Organization) -> Iterator[Slapd]:
    """A slapd for the whole session, loaded with `ldap_organization`; tests must not change it."""
    server = _slapd(ldap_organization)
    yield server
    server.stop()


@pytest.fixture
def changing_directory(ldap_organization: Organization) -> Iterator[Slapd]:
    """A slapd of this test's own, loaded with `ldap_organization`, which the test may change."""
    server = _slapd(ldap_organization)
    yield server
    server.stop()


# --- grafana-dashboards: real dashboards from an npm package, and a Grafana API server on loopback ----------
@pytest.fixture(scope="session")
def grafana_package_dashboards() -> Path:
    """The dashboards scripts/install-grafana-dashboards.sh installs (and prints last); its failure fails the test."""
    script = Path(__file__).resolve().parents[2] / "scripts" / "install-grafana-dashboards.sh"
    result = subprocess.run([str(script)], capture_output=True, text=True, timeout=600, check=False)
    if result.returncode != 0:
        pytest.fail(
            f"{script} failed (it needs npm and the npm registry; run it by hand to see why):\n{result.stderr[-2000:]}",
            pytrace=False,
        )
    return Path(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def grafana() -> Iterator[GrafanaServer]:
    """A Grafana API server on loopback that wants the bearer token GRAFANA_TOKEN."""
    with serving_grafana(token=GRAFANA_TOKEN) as server:
        yield server
