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


def test_connectors_import_only_the_sdk() -> None:
    outside = {
        f"{path.relative_to(CONNECTORS)}: {name}"
        for path in CONNECTORS.rglob("*.py")
        for name in _runtime_imports(path)
        if name != "metaferry_runtime.sdk" and not name.startswith("metaferry_runtime.sdk.")
    }
    assert not outside, sorted(outside)
