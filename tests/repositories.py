"""The `repository` fixture, once for the whole suite (loaded by tests/conftest.py): a fresh repository on
each backend, SQLite in the test's directory and PostgreSQL in a database of its own (tests/postgres.py),
so a test written once runs on both. A suite that needs only one backend overrides `repository_url`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from metaferry_runtime.repository import MetadataRepository, open_repository

#: How often a test repository's listeners poll for commits made by other processes (seconds).
POLL_INTERVAL = 0.2


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def repository_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/repository.db"
    return str(request.getfixturevalue("postgres_database"))


@pytest.fixture
def repository(repository_url: str) -> Iterator[MetadataRepository]:
    repository = open_repository(repository_url, poll_interval=POLL_INTERVAL)
    yield repository
    repository.close()
