"""Fixtures of the repository tests: a `repository` on each backend, and the PostgreSQL they need.

PostgreSQL comes from METAFERRY_TEST_POSTGRES_URL, else from scripts/start-postgres.sh (which installs and
starts a throw-away server). Without it the PostgreSQL tests are skipped on a developer machine but fail
in CI (CI=true): there, a missing database is a broken build, not a reason to test less. Every test gets
a database of its own, dropped afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from metaferry_runtime.repository import MetadataRepository, open_repository

ACTOR = "team-a/files"
OTHER = "team-b/database"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def repository_url(request: pytest.FixtureRequest, tmp_path: object) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/repository.db"
    return str(request.getfixturevalue("postgres_database"))


@pytest.fixture
def repository(repository_url: str) -> Iterator[MetadataRepository]:
    repository = open_repository(repository_url, poll_interval=0.2)
    yield repository
    repository.close()
