"""Shared pytest configuration: the real services (Kubernetes control plane, PostgreSQL) come from plugins.

A test is marked by the tool it needs, and the mark follows from the fixture it uses, so it cannot be
forgotten: `make unit` leaves out `cluster`, `postgres`, `helm`, `opa`, `ldap`, `kafka` and `datahub`; `make test`
(and `.ci/run`) installs the tools and runs every test, and there a missing tool fails the test that needs it
(helm, OPA, slapd and the control plane always, PostgreSQL when CI=true, see tests/postgres.py) instead of
leaving it out.
"""

from __future__ import annotations

import pytest

pytest_plugins = ["tests.cluster.fixtures", "tests.postgres", "tests.repositories"]

# fixture -> the marker of the tool behind it (the fixtures themselves fail when their tool is missing).
MARK_BY_FIXTURE = {
    "helm": "helm",
    "control_plane": "cluster",
    "postgres_url": "postgres",
    "opa_server": "opa",
    "ldap_directory": "ldap",
    "changing_directory": "ldap",
    "kafka_broker": "kafka",
    "datahub": "datahub",
    "shop_target": "dbt",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        for fixture, marker in MARK_BY_FIXTURE.items():
            if fixture in used and item.get_closest_marker(marker) is None:
                item.add_marker(marker)
