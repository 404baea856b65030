"""The test tiers: `make unit` runs on a machine with no helm and no control plane; `make test` runs everything.

The chart tests are run here in a child pytest, with an environment that has no helm anywhere the helm
fixture looks (`METAFERRY_HELM`, `METAFERRY_TOOLS_BIN`, the tools cache, `PATH`).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.chart.conftest import REPO

CHART_TESTS = "tests/chart/test_chart.py"


def unit_tier_selection() -> str:
    """The marker expression of `make unit`, read from the Makefile (the one place it is written)."""
    recipe = re.search(r"^unit:.*\n((?:\t.*\n)+)", (REPO / "Makefile").read_text(), re.MULTILINE)
    assert recipe is not None, "the Makefile has a unit target"
    selection = re.search(r'-m "([^"]+)"', recipe.group(1))
    assert selection is not None, "make unit selects tests by marker"
    return selection.group(1)


def pytest_without_helm(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key not in ("METAFERRY_HELM", "METAFERRY_TOOLS_BIN")}
    env["METAFERRY_TOOLS_DIR"] = str(tmp_path / "no-tools")
    entries = [entry for entry in env.get("PATH", "").split(os.pathsep) if entry]
    env["PATH"] = os.pathsep.join(entry for entry in entries if not os.access(Path(entry) / "helm", os.X_OK))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rfEs", "-p", "no:cacheprovider", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_unit_tier_passes_the_chart_tests_on_a_machine_without_helm(tmp_path: Path) -> None:
    result = pytest_without_helm(tmp_path, "-m", unit_tier_selection(), CHART_TESTS)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert re.search(r"\d+ passed", output) and "deselected" in output, output[-2000:]
    assert "skipped" not in output, "tests that need helm are left out of the tier, not skipped"


def test_without_helm_a_chart_test_outside_the_unit_tier_fails_loudly_and_never_skips(tmp_path: Path) -> None:
    result = pytest_without_helm(tmp_path, f"{CHART_TESTS}::test_values_schema_rejects_an_unknown_top_level_key")
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-2000:]
    assert "helm not found" in output and "scripts/install-test-tools.sh" in output
    assert "skipped" not in output
