"""Every example is a valid IntegrationConnector, and every built-in connector has one.

Validated here against the pydantic models (the CRD's source); the cluster tier also applies each one
with ``kubectl apply --dry-run=server`` (tests/e2e).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import yaml

from metaferry_operator import selftest
from metaferry_runtime.resource import load_manifest
from metaferry_runtime.resource.manifest import parse_manifest
from tests.chart.conftest import REPO

EXAMPLES = REPO / "examples"


def example_files() -> list[Path]:
    return sorted(EXAMPLES.glob("*.yaml"))


def declared_connectors() -> set[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    return set(project["project"]["entry-points"]["metaferry.connectors"])


@pytest.mark.parametrize("path", example_files(), ids=lambda p: p.name)
def test_example_is_a_valid_integration_connector(path: Path) -> None:
    connector = load_manifest(path)
    assert connector.metadata.name
    for document in yaml.safe_load_all(path.read_text()):  # the connector and any Secret beside it
        assert "namespace" not in document["metadata"], "examples take -n NAMESPACE"


def test_every_builtin_connector_has_an_example() -> None:
    used = {load_manifest(path).spec.connector for path in example_files()}
    missing = declared_connectors() - used
    assert not missing, f"no example in examples/ for: {sorted(missing)}"


def test_the_first_command_of_the_readme_has_its_data() -> None:
    """`metaferry-runtime run examples/files-connector.yaml --once` runs from the repository root."""
    connector = load_manifest(EXAMPLES / "files-connector.yaml")
    assert connector.spec.connector == "directory-monitor"
    assert connector.spec.connection.endpoint == "examples/sample-data"
    data = REPO / connector.spec.connection.endpoint
    files = {p.relative_to(data).as_posix() for p in data.rglob("*") if p.is_file()}
    assert {"customers.csv", "products.json"} <= files
    assert any("/" in name for name in files)  # a nested folder


def test_selftest_connector_is_valid() -> None:
    body = selftest.sample_connector(name="metaferry-selftest", namespace="metaferry-system")
    connector = parse_manifest(body, source="selftest")
    assert connector.spec.connector in declared_connectors()
