"""Fixtures for runtime tests: the suite's repository on SQLite, and resources built like user manifests."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from metaferry_runtime.resource import ConnectorResource
from tests.repositories import backend_url


@pytest.fixture
def repository_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """SQLite: most runtime tests are about the engine, not the backend (tests/repositories.py gives the
    `repository` over it). A test about the database transaction takes both with `@ON_BOTH_BACKENDS`."""
    return backend_url(request, tmp_path)


@pytest.fixture
def isolated_logging() -> Iterator[None]:
    """For tests that call configure_logging, which replaces the root handlers and the exception hooks:
    pytest's are put back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    hooks = sys.excepthook, threading.excepthook
    yield
    root.handlers[:], root.level = handlers, level
    sys.excepthook, threading.excepthook = hooks


def make_resource(connector: str, *, name: str = "sample", **spec: Any) -> ConnectorResource:
    """An IntegrationConnector as a user would write it (camelCase spec keys)."""
    if connector[:1].isupper():
        connector = f"tests.runtime.sample_connectors:{connector}"
    return ConnectorResource.model_validate(
        {
            "apiVersion": "metaferry.io/v1alpha1",
            "kind": "IntegrationConnector",
            "metadata": {"name": name, "namespace": "test"},
            "spec": {"integrationService": "files", "connector": connector, **spec},
        }
    )
