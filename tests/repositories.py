"""The `repository` fixture, once for the whole suite (loaded by tests/conftest.py): a fresh repository on
each backend, SQLite in the test's directory and PostgreSQL in a database of its own (tests/postgres.py),
so a test written once runs on both.

A suite that needs only one backend overrides `repository_url` (returning `backend_url(request, tmp_path)`
gives SQLite); a test of such a suite that is about the backend is put back on both with
`@ON_BOTH_BACKENDS`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from metaferry_runtime.repository import MetadataRepository, open_repository

#: How often a test repository's listeners poll for commits made by other processes (seconds).
POLL_INTERVAL = 0.2

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]

#: Runs a test on both backends in a suite whose `repository_url` is one backend's.
ON_BOTH_BACKENDS = pytest.mark.parametrize("repository_url", BACKENDS, indirect=True)


def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a fresh repository on the backend the test is parametrized with (SQLite when it is not)."""
    if getattr(request, "param", "sqlite") == "sqlite":
        return f"sqlite:///{tmp_path}/repository.db"
    return str(request.getfixturevalue("postgres_database"))


@pytest.fixture(params=BACKENDS)
def repository_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return backend_url(request, tmp_path)


@pytest.fixture
def repository(repository_url: str) -> Iterator[MetadataRepository]:
    repository = open_repository(repository_url, poll_interval=POLL_INTERVAL)
    yield repository
    repository.close()
