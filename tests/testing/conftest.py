"""Fixtures of the test kit's own tests: a real folder for the sample connector to catalogue."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.testing.sample_connectors import LeakyConnector


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """folder/{orders.csv, events.json}"""
    root = tmp_path / "folder"
    root.mkdir()
    (root / "orders.csv").write_text("id,total\n1,10\n")
    (root / "events.json").write_text("{}")
    return root


@pytest.fixture(autouse=True)
def _release_leaks() -> Iterator[None]:
    """What LeakyConnector leaked on purpose is released after each test."""
    yield
    LeakyConnector.release_all()
