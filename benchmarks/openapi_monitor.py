"""openapi-monitor on GitHub's REST API description (about 1,000 operations), beside a floor measured in
the same run.

The document (npm @octokit/openapi, installed by scripts/install-openapi-documents.sh) is served by a
local HTTP server with ETags. The connector is configured through the test kit (the runtime's own
configuration path) over a fresh SQLite repository, and each refresh runs as the engine runs it: inside
`context.refresh_batch(...)`, one transaction, committed.

1. First refresh: fetch, validate, read with `$ref`s resolved, catalogue (DeployedAPI, operations,
   parameter lists, parameters, tags) and commit. Floor: the same fetch, the same validation and the same
   reading with the same libraries (openapi-spec-validator, jsonschema-path), writing one JSON line per
   operation to a file instead of the repository. Target: the connector takes at most 3x the floor.
2. A refresh with nothing changed: one conditional GET answered 304. Target: at most 100 ms.
3. The same, from a server that sends no ETag or Last-Modified: the body again, with the same digest.

Run: python benchmarks/openapi_monitor.py [--validation off schema full]
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from _common import REPO_ROOT, stopwatch, table

from metaferry_runtime.connectors.openapi_monitor import OpenAPIMonitorConnector
from metaferry_runtime.connectors.openapi_monitor.fetching import parse
from metaferry_runtime.connectors.openapi_monitor.reading import read_document
from metaferry_runtime.connectors.openapi_monitor.validating import problems_of
from metaferry_runtime.repository import ChangeCounts
from metaferry_runtime.sdk.http import Fetched
from metaferry_runtime.testing import ConnectorHarness


def github_document() -> bytes:
    script = REPO_ROOT / "scripts" / "install-openapi-documents.sh"
    directory = subprocess.run([str(script)], capture_output=True, text=True, check=True).stdout.splitlines()[-1]
    return (Path(directory) / "github" / "api.github.com.json").read_bytes()


@contextmanager
def serving(body: bytes) -> Iterator[tuple[str, dict[str, bool]]]:
    """`/openapi.json` with an ETag (switched off by `switches["etag"] = False`)."""
    tag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
    switches = {"etag": True}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if switches["etag"] and self.headers.get("If-None-Match") == tag:
                self.send_response(304)
                self.send_header("ETag", tag)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            if switches["etag"]:
                self.send_header("ETag", tag)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/openapi.json", switches
    finally:
        server.shutdown()
        server.server_close()


def floor(url: str, validation: str, out: Path) -> tuple[float, int]:
    """Fetch, validate, read with the same libraries; one JSON line per operation."""
    with stopwatch() as elapsed, httpx.Client(timeout=60) as client:
        response = client.get(url)
        document = parse(Fetched(url=url, body=response.content, content_type=response.headers["Content-Type"]))
        handlers: Any = {}
        problems_of(document, url=url, handlers=handlers, level=validation, limit=20)  # type: ignore[arg-type]
        definition = read_document(document, url=url, handlers=handlers).definition
        with out.open("w") as lines:
            for operation in definition.operations:
                lines.write(operation.model_dump_json() + "\n")
    return elapsed[0], len(definition.operations)


def timed_refresh(harness: ConnectorHarness[OpenAPIMonitorConnector], refresh_id: str) -> tuple[float, ChangeCounts]:
    with stopwatch() as elapsed, harness.context.refresh_batch(refresh_id) as batch:
        harness.connector.refresh()
        counts = batch.transaction.counts.model_copy()
    return elapsed[0], counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--validation", nargs="+", default=["off", "schema", "full"], choices=["off", "schema", "full"])
    arguments = parser.parse_args()
    body = github_document()
    rows = []
    with tempfile.TemporaryDirectory(prefix="metaferry-bench-") as work, serving(body) as (url, switches):
        for validation in arguments.validation:
            floor_seconds, operations = floor(url, validation, Path(work) / f"floor-{validation}.jsonl")
            repository = f"sqlite:///{work}/repository-{validation}.db"
            with ConnectorHarness.create(
                OpenAPIMonitorConnector,
                endpoint=url,
                repository_url=repository,
                configuration_properties={"validation": validation},
            ) as harness:
                first, counts = timed_refresh(harness, "first")
                switches["etag"] = True
                not_modified, unchanged_counts = timed_refresh(harness, "304")
                switches["etag"] = False
                same_digest, digest_counts = timed_refresh(harness, "same-digest")
                switches["etag"] = True
            assert unchanged_counts.created == unchanged_counts.updated == digest_counts.updated == 0
            ratio = first / floor_seconds
            rows += [
                [
                    f"first refresh, validation {validation}: {operations:,} operations, {counts.created:,} elements",
                    f"{first:.2f}s",
                    f"{floor_seconds:.2f}s",
                    f"{ratio:.1f}x " + ("ok (<= 3x)" if ratio <= 3 else "ABOVE 3x"),
                ],
                [
                    "no-change refresh (304)",
                    f"{not_modified * 1000:.0f} ms",
                    "-",
                    "ok (<= 100 ms)" if not_modified <= 0.1 else "ABOVE 100 ms",
                ],
                [
                    "no-change refresh (no validators: body again, same digest)",
                    f"{same_digest * 1000:.0f} ms",
                    "-",
                    "-",
                ],
            ]
    print(f"GitHub REST API description: {len(body) / 1e6:.1f} MB")
    print(table(["measure", "openapi-monitor", "floor (fetch, validate, read, JSON lines)", "ratio / target"], rows))


if __name__ == "__main__":
    main()
