"""The test kit is for tests: nothing else in the runtime imports it, so a pod never loads it."""

from __future__ import annotations

import ast
from pathlib import Path

import metaferry_runtime

RUNTIME = Path(metaferry_runtime.__file__).parent


def test_no_runtime_module_outside_the_kit_imports_it() -> None:
    importers = set()
    for path in RUNTIME.rglob("*.py"):
        if path.is_relative_to(RUNTIME / "testing"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            if any(
                name == "metaferry_runtime.testing" or name.startswith("metaferry_runtime.testing.") for name in names
            ):
                importers.add(str(path.relative_to(RUNTIME)))
    assert not importers, sorted(importers)
