"""Fixtures of the catalogue tests: a real repository on each backend and the catalogue served over it on
a loopback port (aiohttp's TestServer), read with a real HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from metaferry_catalog.app import make_app
from metaferry_catalog.auth import StaticTokens
from metaferry_runtime.repository import MetadataRepository

TOKEN = "catalogue-reader-token-1"
FILES = "team-a/files"
DATABASE = "team-b/database"


@pytest.fixture
async def client(repository: MetadataRepository) -> AsyncIterator[TestClient]:
    """Sends the reader's token on every request unless a test gives its own headers."""
    server = TestServer(make_app(repository, tokens=StaticTokens([TOKEN])))
    client: TestClient = TestClient(server, headers={"Authorization": f"Bearer {TOKEN}"})
    await client.start_server()
    yield client
    await client.close()
