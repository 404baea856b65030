"""A real `metaferry-catalog serve` process over a repository, for the CLI's catalogue commands."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.catalog.test_catalog_serve import START_DEADLINE, free_port

READER, CURATOR = "cli-reader-token-0b1c", "cli-curator-token-7e2d"


@contextmanager
def serve_catalogue(repository_url: str, directory: Path) -> Iterator[str]:
    """The catalogue's base URL once it answers /healthz; READER may read, CURATOR (alice) may curate."""
    tokens = directory / "tokens"
    tokens.write_text(f"{READER}\n{CURATOR} user=alice curator\n")
    port = free_port()
    command = [sys.executable, "-m", "metaferry_catalog.cli", "serve", "--repository", repository_url]
    process = subprocess.Popen(
        [*command, "--port", str(port), "--token-file", str(tokens)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_DEADLINE
    try:
        while True:
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, process.communicate()[0]
            assert time.monotonic() < deadline, "the catalogue did not start listening"
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
