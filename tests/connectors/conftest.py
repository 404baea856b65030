"""Fixtures of the connector tests: a real directory tree, the deadline wait the watch-mode tests need, and a
running openlineage-receiver.

Connectors themselves are driven by the test kit (`metaferry_runtime.testing`, whose `connector_harness`
fixture comes from its pytest plugin), exactly as an outside author's tests drive theirs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from metaferry_runtime.connectors.openlineage_receiver import OpenLineageReceiverConnector
from metaferry_runtime.testing import HarnessFactory
from tests.connectors.openlineage_client import TOKEN, Receiver, free_port


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """root/{orders.csv, events.json, readme, .hidden, sales/{q1.parquet, 2024/{jan.avro}}}"""
    root = tmp_path / "tree"
    (root / "sales" / "2024").mkdir(parents=True)
    (root / "orders.csv").write_text("id,total\n1,10\n")
    (root / "events.json").write_text("{}")
    (root / "readme").write_text("hello")
    (root / ".hidden").write_text("secret-ish")
    (root / "sales" / "q1.parquet").write_bytes(b"PAR1")
    (root / "sales" / "2024" / "jan.avro").write_bytes(b"Obj")
    return root


def wait_until(condition: Callable[[], bool], *, timeout: float = 15.0, what: str = "condition") -> None:
    """Poll `condition` until it holds, failing after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def lineage_repository_url(tmp_path: Path) -> str:
    """The repository the receiver writes to (and other connectors of a test, to be linked to)."""
    return f"sqlite:///{tmp_path / 'lineage.db'}"


@pytest.fixture
def receiver(
    connector_harness: HarnessFactory, tmp_path: Path, lineage_repository_url: str, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Receiver]:
    """receiver(**configuration properties): the connector, started and serving on a free loopback port."""
    monkeypatch.setenv("METAFERRY_LISTEN_HOST", "127.0.0.1")

    def make(**config: Any) -> Receiver:
        harness: Receiver = connector_harness(
            OpenLineageReceiverConnector,
            listener_port=free_port(),
            uses_blocking_calls=True,
            secrets={"token": TOKEN},
            configuration_properties={"journalDirectory": str(tmp_path / "journal"), **config},
            repository_url=lineage_repository_url,
        )
        return harness

    return make
