"""Standalone auth: bearer tokens from a file. Anonymous and wrong tokens get 401; tokens are never logged."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestClient

from metaferry_catalog.auth import StaticTokens, TokenFileError
from metaferry_runtime.repository import MetadataRepository
from tests.catalog.conftest import TOKEN

PROTECTED = ["/api/v1/elements", "/api/v1/types", "/api/v1/elements/x", "/api/v1/events"]


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", "Basic " + TOKEN, "Bearer ", TOKEN])
async def test_anonymous_and_wrong_tokens_get_401(
    repository: MetadataRepository,
    client: TestClient,
    authorization: str | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    headers = {} if authorization is None else {"Authorization": authorization}
    async with ClientSession(headers=headers) as anonymous:
        for path in PROTECTED:
            response = await anonymous.get(client.make_url(path))
            assert response.status == 401, path
            assert response.headers["WWW-Authenticate"] == "Bearer"
            body = await response.text()
            assert "wrong-token" not in body
            assert TOKEN not in body
    assert "wrong-token" not in caplog.text
    assert TOKEN not in caplog.text


async def test_the_listed_token_reads_and_the_document_and_health_are_public(
    repository: MetadataRepository,
    client: TestClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    assert (await client.get("/api/v1/types")).status == 200
    async with ClientSession() as anonymous:
        assert (await anonymous.get(client.make_url("/openapi.json"))).status == 200
        health = await anonymous.get(client.make_url("/healthz"))
        assert health.status == 200
        assert (await health.json())["status"] == "ok"
    assert TOKEN not in caplog.text


def test_a_token_file_lists_tokens_and_refuses_an_empty_one(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    path.write_text("# readers\n\n  first-token  \nsecond-token\n")
    tokens = StaticTokens.from_file(path)
    assert tokens.allows("Bearer first-token")
    assert tokens.allows("bearer second-token")
    assert not tokens.allows("Bearer first")
    assert not tokens.allows("Bearer # readers")
    path.write_text("# nobody\n")
    with pytest.raises(TokenFileError, match="lists no token"):
        StaticTokens.from_file(path)
    with pytest.raises(TokenFileError, match="cannot read the token file"):
        StaticTokens.from_file(tmp_path / "missing")


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "metaferry_catalog.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_serve_insists_on_a_token_file_unless_told_otherwise(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/r.db"
    refused = run_cli("serve", "--repository", url)
    assert refused.returncode == 2
    assert "--token-file, --kubernetes-auth or --no-auth" in refused.stderr
    empty = tmp_path / "tokens"
    empty.write_text("")
    bad = run_cli("serve", "--repository", url, "--token-file", str(empty))
    assert bad.returncode == 2
    assert "lists no token" in bad.stderr


def test_a_token_file_line_may_name_its_user_and_grant_curation_and_a_bad_one_is_named_by_number(
    tmp_path: Path,
) -> None:
    path = tmp_path / "tokens"
    path.write_text("reader-token\nsteward-token user=alice curator\n")
    tokens = StaticTokens.from_file(path)
    reader, steward = tokens.holder("Bearer reader-token"), tokens.holder("Bearer steward-token")
    assert reader is not None and not reader.curator and reader.name.startswith("token:")
    assert steward is not None and steward.curator and steward.name == "alice"
    assert "steward-token" not in repr(steward)
    path.write_text("reader-token\nsecret-token admin\n")
    with pytest.raises(TokenFileError, match="line 2") as refused:
        StaticTokens.from_file(path)
    assert "secret-token" not in str(refused.value)
