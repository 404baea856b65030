"""The layers CONTRIBUTING.md describes hold: import-linter checks the contracts in pyproject.toml."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def test_every_import_contract_is_kept() -> None:
    assert LINT_IMPORTS.exists(), f"{LINT_IMPORTS} is missing: pip install -e '.[dev]'"
    result = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout, result.stdout


#: The longest a module of the runtime or the operator may be: past it, it holds more than one idea.
MAX_MODULE_LINES = 450


def test_no_module_of_the_runtime_or_the_operator_is_longer_than_the_limit() -> None:
    long = {
        str(path.relative_to(REPO)): lines
        for path in [*(REPO / "runtime").rglob("*.py"), *(REPO / "operator").rglob("*.py")]
        if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert not long, f"split these modules (over {MAX_MODULE_LINES} lines): {long}"


def test_the_operator_defines_its_json_alias_in_one_module() -> None:
    defining = sorted(
        str(path.relative_to(REPO))
        for path in (REPO / "operator").rglob("*.py")
        if any(line.startswith("Json = ") for line in path.read_text().splitlines())
    )
    assert defining == ["operator/metaferry_operator/json_types.py"], f"import Json from json_types instead: {defining}"
