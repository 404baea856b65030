"""Connectors shipped with the runtime import only the SDK, so they depend on nothing a third party cannot use."""

from __future__ import annotations

import ast
from pathlib import Path

import metaferry_runtime.connectors

CONNECTORS = Path(metaferry_runtime.connectors.__file__).parent


def _runtime_imports(source: Path) -> list[str]:
    modules: list[str] = []
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            modules.append(node.module)
        elif isinstance(node, ast.Import):
            modules.extend(alias.name for alias in node.names)
    return [name for name in modules if name.split(".")[0] == "metaferry_runtime"]


def _allowed(name: str, path: Path) -> bool:
    """The SDK, and the connector's own package (a connector may be several modules)."""
    own = "metaferry_runtime.connectors." + path.relative_to(CONNECTORS).parts[0].removesuffix(".py")
    return any(name == allowed or name.startswith(allowed + ".") for allowed in ("metaferry_runtime.sdk", own))


def test_connectors_import_only_the_sdk() -> None:
    outside = {
        f"{path.relative_to(CONNECTORS)}: {name}"
        for path in CONNECTORS.rglob("*.py")
        for name in _runtime_imports(path)
        if not _allowed(name, path)
    }
    assert not outside, sorted(outside)


def test_a_connector_importing_another_connector_or_the_runtime_is_caught() -> None:
    path = CONNECTORS / "postgres_schema" / "connector.py"
    assert _allowed("metaferry_runtime.connectors.postgres_schema.catalog", path)
    assert not _allowed("metaferry_runtime.connectors.directory_monitor", path)
    assert not _allowed("metaferry_runtime.repository", path)
    assert not _allowed("metaferry_runtime.sdkx", path)
