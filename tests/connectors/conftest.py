"""Fixtures of the connector tests: a real directory tree, a real OpenLDAP slapd, and the deadline wait the
watch-mode tests need.

Connectors themselves are driven by the test kit (`metaferry_runtime.testing`, whose `connector_harness`
fixture comes from its pytest plugin), exactly as an outside author's tests drive theirs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.ldap_server import Organization, Slapd, SlapdUnavailable, start_slapd


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


def wait_until(condition: Callable[[], bool], *, timeout: float = 15.0, what: str = "condition") -> None:
    """Poll `condition` until it holds, failing after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


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
