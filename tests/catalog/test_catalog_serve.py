"""`metaferry-catalog serve` as a separate process on a real port, over the repository the directory-monitor
connector fills (through the connector test kit) in another process: what a person running it standalone
gets."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from metaferry_runtime.connectors.directory_monitor import DirectoryMonitorConnector
from metaferry_runtime.testing import ConnectorHarness

TOKEN = "standalone-reader-token"
#: Bounds the wait for the server to listen; not a speed assertion.
START_DEADLINE = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Catalogue:
    def __init__(self, base: str) -> None:
        self.base = base

    def get(self, path: str, token: str | None = TOKEN) -> tuple[int, Any]:
        request = urllib.request.Request(self.base + path)
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())


@pytest.fixture
def served(repository_url: str, tmp_path: Path) -> Iterator[tuple[Catalogue, subprocess.Popen[str]]]:
    tokens = tmp_path / "tokens"
    tokens.write_text(f"{TOKEN}\n")
    port = free_port()
    command = [sys.executable, "-m", "metaferry_catalog.cli", "serve", "--repository", repository_url]
    command += ["--port", str(port), "--token-file", str(tokens)]
    env = {k: v for k, v in os.environ.items() if k != "METAFERRY_CATALOG_TOKEN_FILE"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    catalogue = Catalogue(f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + START_DEADLINE
    while True:
        try:
            if catalogue.get("/healthz", token=None)[0] == 200:
                break
        except OSError:
            pass
        assert process.poll() is None, process.communicate()[0]
        assert time.monotonic() < deadline, "the catalogue did not start listening"
        time.sleep(0.1)
    yield catalogue, process
    process.terminate()
    process.wait(timeout=30)


def test_standalone_catalogue_serves_what_the_directory_monitor_catalogued(
    repository_url: str,
    tmp_path: Path,
    served: tuple[Catalogue, subprocess.Popen[str]],
) -> None:
    catalogue, process = served
    root = tmp_path / "lake"
    (root / "sales").mkdir(parents=True)
    (root / "sales" / "2026.csv").write_text("a,b\n1,2\n")
    with ConnectorHarness.create(DirectoryMonitorConnector, repository_url=repository_url, endpoint=root) as monitor:
        monitor.refresh()
        status, page = catalogue.get("/api/v1/elements?type=DataFile")
        assert status == 200
        [found] = page["items"]
        assert found["qualified_name"] == f"file://{root}/sales/2026.csv"
        status, element = catalogue.get(f"/api/v1/elements/{found['guid']}")
        assert status == 200
        assert element["provenance"]["metadata_collection"] == monitor.metadata_source
        assert element["provenance"]["created_by_refresh"] is not None
        folder = next(r for r in element["relationships"]["items"] if r["type_name"] == "NestedFile")
        status, graph = catalogue.get(f"/api/v1/elements/{folder['end1_guid']}/neighbourhood?depth=1")
        assert status == 200
        assert found["guid"] in {n["guid"] for n in graph["nodes"]}

        (root / "sales" / "2027.csv").write_text("a,b\n")
        monitor.refresh()  # another process's commit: the catalogue reads it on the next request
        status, page = catalogue.get("/api/v1/elements?type=DataFile&text=2027")
        assert [item["qualified_name"] for item in page["items"]] == [f"file://{root}/sales/2027.csv"]

    assert catalogue.get("/api/v1/elements", token=None)[0] == 401
    assert catalogue.get("/api/v1/elements", token="guess")[0] == 401
    process.terminate()
    output = process.communicate(timeout=30)[0]
    assert "serving" in output
    assert TOKEN not in output
    assert "guess" not in output
