"""Shutdown never hangs: SIGTERM in any lifecycle phase ends the runtime process within the grace period.

Each case runs `metaferry-runtime run` as a real process with a connector that hangs for good in one phase,
sends SIGTERM once the hang began, and reads the exit code, the time it took and the audit log.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.runtime.sample_connectors import PhaseHangingConnector
from tests.runtime.test_process import free_port
from tests.waiting import wait_for

GRACE_SECONDS = 2
# Exit is due at grace + about a second; the rest is slack for a shared, loaded machine.
EXIT_SLACK_SECONDS = 6
ABANDONED = "METAFERRY-RUNTIME-0016"
DISCONNECTED = "METAFERRY-RUNTIME-0015"


class RuntimeProcess:
    """A `metaferry-runtime run` subprocess with its JSON log and API address."""

    def __init__(self, tmp_path: Path, *, hang_in: str, uses_blocking_calls: bool) -> None:
        self.markers = tmp_path / "markers"
        self.markers.mkdir()
        manifest = tmp_path / "connector.yaml"
        manifest.write_text(
            json.dumps(
                {
                    "apiVersion": "metaferry.io/v1alpha1",
                    "kind": "IntegrationConnector",
                    "metadata": {"name": f"hang-in-{hang_in.strip('_')}", "namespace": "test"},
                    "spec": {
                        "integrationService": "files",
                        "connector": "tests.runtime.sample_connectors:PhaseHangingConnector",
                        "usesBlockingCalls": uses_blocking_calls,
                    },
                }
            )
        )
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.log = tmp_path / "runtime.log"
        env = {
            **os.environ,
            "METAFERRY_API_TOKEN": "shutdown-token",
            PhaseHangingConnector.HANG_IN_ENV: hang_in,
            PhaseHangingConnector.MARKER_DIRECTORY_ENV: str(self.markers),
        }
        env.pop("METAFERRY_REPOSITORY_URL", None)
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
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
                    "--shutdown-grace",
                    f"{GRACE_SECONDS}s",
                ],
                stdout=output,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=Path(__file__).parents[2],
            )

    def status(self) -> dict[str, Any] | None:
        try:
            response = httpx.get(f"{self.base}/status", timeout=1)
        except httpx.TransportError:
            return None
        return dict(response.json()) if response.status_code == 200 else None

    def audit(self) -> list[dict[str, Any]]:
        records = []
        for line in self.log.read_text().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and "messageId" in record:
                records.append(record)
        return records

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def start_runtime(tmp_path: Path) -> Iterator[Any]:
    started: list[RuntimeProcess] = []

    def start(*, hang_in: str, uses_blocking_calls: bool = False) -> RuntimeProcess:
        runtime = RuntimeProcess(tmp_path, hang_in=hang_in, uses_blocking_calls=uses_blocking_calls)
        started.append(runtime)
        return runtime

    yield start
    for runtime in started:
        runtime.kill()


# (phase the connector hangs in, usesBlockingCalls, connector status while it hangs)
PHASES = [
    ("__init__", False, "STOPPED"),  # the connector's module and constructor run as connector code too
    ("initialize", False, "STOPPED"),
    ("start", False, "INITIALIZED"),
    ("refresh", False, "REFRESHING"),
    ("engage", True, "RUNNING"),
]


@pytest.mark.parametrize(("phase", "uses_blocking_calls", "status_while_hanging"), PHASES)
def test_sigterm_while_a_lifecycle_call_hangs_exits_within_the_grace_and_abandons_the_call(
    start_runtime: Any, phase: str, uses_blocking_calls: bool, status_while_hanging: str
) -> None:
    runtime = start_runtime(hang_in=phase, uses_blocking_calls=uses_blocking_calls)
    wait_for(lambda: (runtime.markers / phase).exists(), timeout=60, interval=0.05)
    wait_for(lambda: (runtime.status() or {}).get("status") == status_while_hanging, timeout=30)

    runtime.process.send_signal(signal.SIGTERM)
    began = time.monotonic()
    code = runtime.process.wait(timeout=GRACE_SECONDS + EXIT_SLACK_SECONDS)
    elapsed = time.monotonic() - began

    assert code == 0, runtime.log.read_text()
    assert elapsed < GRACE_SECONDS + EXIT_SLACK_SECONDS
    audit = runtime.audit()
    abandoned = [r["text"] for r in audit if r["messageId"] == ABANDONED]
    assert any(f"{phase}()" in text for text in abandoned), abandoned
    assert audit[-1]["messageId"] == DISCONNECTED, "the last word is that the connector is disconnected"


def test_sigterm_with_a_hanging_disconnect_exits_within_the_grace_and_says_disconnect_was_abandoned(
    start_runtime: Any,
) -> None:
    runtime = start_runtime(hang_in="disconnect")
    wait_for(lambda: (runtime.status() or {}).get("refreshCount") == 1, timeout=60, interval=0.05)

    runtime.process.send_signal(signal.SIGTERM)
    began = time.monotonic()
    code = runtime.process.wait(timeout=GRACE_SECONDS + EXIT_SLACK_SECONDS)

    assert code == 0, runtime.log.read_text()
    assert time.monotonic() - began < GRACE_SECONDS + EXIT_SLACK_SECONDS
    assert (runtime.markers / "disconnect").exists(), "disconnect() was called"
    audit = runtime.audit()
    assert any(r["messageId"] == ABANDONED and "disconnect()" in r["text"] for r in audit)
    assert audit[-1]["messageId"] == DISCONNECTED
