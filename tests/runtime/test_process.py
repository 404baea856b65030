"""The runtime as a real process: it serves its API, refreshes on request and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.waiting import wait_for


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def runtime_process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    manifest = tmp_path / "connector.yaml"
    manifest.write_text(
        textwrap.dedent(
            """\
            apiVersion: metaferry.io/v1alpha1
            kind: IntegrationConnector
            metadata: {name: proc, namespace: test}
            spec:
              integrationService: files
              connector: tests.runtime.sample_connectors:WritingConnector
              connection:
                configurationProperties: {elements: 2}
            """
        )
    )
    (tmp_path / "token").write_text("process-token\n")
    port = free_port()
    log = tmp_path / "runtime.log"
    env = {**os.environ, "METAFERRY_API_TOKEN_FILE": str(tmp_path / "token"), "METAFERRY_LISTEN_HOST": "127.0.0.1"}
    env.pop("METAFERRY_REPOSITORY_URL", None)
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "metaferry_runtime.cli",
                "run",
                str(manifest),
                "--log-format",
                "json",
                "--repository",
                f"sqlite:///{tmp_path / 'r.db'}",
                "--listen",
                f"127.0.0.1:{port}",
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=Path(__file__).parents[2],
        )
    try:
        yield process, f"http://127.0.0.1:{port}", log
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_the_process_serves_refreshes_and_stops_on_sigterm(
    runtime_process: tuple[subprocess.Popen[bytes], str, Path],
) -> None:
    process, base, log = runtime_process

    def ready() -> bool:
        try:
            return httpx.get(f"{base}/readyz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    wait_for(ready, timeout=30, interval=0.05)
    wait_for(lambda: httpx.get(f"{base}/status").json()["refreshCount"] == 1, timeout=30)
    response = httpx.post(f"{base}/refresh", headers={"Authorization": "Bearer process-token"})
    assert response.status_code == 202
    wait_for(lambda: httpx.get(f"{base}/status").json()["refreshCount"] == 2, timeout=30)

    process.send_signal(signal.SIGTERM)
    began = time.monotonic()
    assert process.wait(timeout=30) == 0
    assert time.monotonic() - began < 15
    lines = log.read_text().splitlines()
    assert any('"messageId": "METAFERRY-RUNTIME-0015"' in line for line in lines), "disconnect is audited"
    assert "process-token" not in log.read_text()
