"""PostgreSQL for the tests, as a pytest plugin: every suite that needs a real database uses these fixtures.

PostgreSQL comes from METAFERRY_TEST_POSTGRES_URL, else from scripts/start-postgres.sh (which installs and
starts a throw-away server). Without it the PostgreSQL tests are skipped on a developer machine but fail
in CI (CI=true): there, a missing database is a broken build, not a reason to test less. Every test gets
a database of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import psycopg
import pytest

from tests.postgres_server import (
    PostgresServer,
    create_database,
    drop_database,
    private_postgres_directory,
    start_postgres,
)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL is required in CI: {reason}")
    pytest.skip(f"PostgreSQL unavailable: {reason}")


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """URL of a PostgreSQL server whose user may create databases."""
    url = os.environ.get("METAFERRY_TEST_POSTGRES_URL")
    if not url:
        try:
            url = start_postgres().url
        except Exception as error:
            _unavailable(str(error))
            raise
    try:
        with psycopg.connect(url, connect_timeout=10):
            pass
    except psycopg.Error as error:
        _unavailable(f"{url}: {error}")
    return url


@pytest.fixture
def postgres_database(postgres_url: str) -> Iterator[str]:
    """A fresh, empty database for one test."""
    url = create_database(postgres_url)
    yield url
    drop_database(postgres_url, url)


@pytest.fixture
def private_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of this test's own, which it may restart without disturbing anyone else."""
    directory = private_postgres_directory()
    try:
        server = start_postgres(directory)
    except Exception as error:
        shutil.rmtree(directory, ignore_errors=True)
        _unavailable(str(error))
        raise
    yield server
    server.stop(purge=True)
