"""docs/connectors.md stays true: its code runs, its complete connector is the template's module, and the
template installs with pip, registers by entry point and runs with `metaferry-runtime run`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from metaferry_runtime.testing import Property, conformance

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "docs" / "connectors.md"
TEMPLATE = REPO / "examples" / "connector-template"
RUNTIME = [sys.executable, "-m", "metaferry_runtime.cli"]


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, re.S)


def complete_connector() -> str:
    return python_blocks(GUIDE.read_text().split("## A complete connector", 1)[1])[0]


def test_every_python_block_of_the_guide_runs() -> None:
    # The complete connector is the template's module: it is installed and run by the tests below (run
    # here as well, its message ids would be defined twice in this process).
    blocks = [block for block in python_blocks(GUIDE.read_text()) if block != complete_connector()]
    assert len(blocks) >= 2
    for index, block in enumerate(blocks):
        exec(compile(block, f"{GUIDE.name} block {index + 1}", "exec"), {"__name__": f"guide_block_{index}"})


def test_the_guides_complete_connector_is_the_templates_module() -> None:
    assert complete_connector() == (TEMPLATE / "acme_csv_columns" / "__init__.py").read_text()


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template installed with pip into a directory of its own (the project's environment untouched)."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(TEMPLATE),
        ],
        check=True,
        capture_output=True,
        cwd=tmp_path_factory.getbasetemp(),
    )
    return target


def run(installed: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(installed), str(REPO)])}
    return subprocess.run([*RUNTIME, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_the_template_installs_registers_and_runs(installed: Path, tmp_path: Path) -> None:
    listed = run(installed, "connectors", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if line.startswith("csv-columns"))
    assert row.split()[1] == "files"

    data = tmp_path / "data"
    data.mkdir()
    (data / "orders.csv").write_text("id;total;currency\n1;10;EUR\n")
    (data / "notes.txt").write_text("not a csv")
    manifest = tmp_path / "connector.yaml"
    manifest.write_text(
        (TEMPLATE / "connector.yaml").read_text().replace("../sample-data", str(data)).replace('","', '";"')
    )
    repository = f"sqlite:///{tmp_path / 'r.db'}"
    ran = run(installed, "run", str(manifest), "--once", "--repository", repository, cwd=tmp_path)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "GUIDE-CSV-COLUMNS-0001" in ran.stdout + ran.stderr
    listing = run(installed, "elements", "--repository", repository, "--type", "CSVFile", cwd=tmp_path).stdout
    assert f"file://{data / 'orders.csv'}" in listing and "(1 element)" in listing

    manifest.write_text(manifest.read_text().replace('";"', '";;"'))
    refused = run(installed, "run", str(manifest), "--once", "--repository", repository, cwd=tmp_path)
    assert refused.returncode == 1
    assert "configurationProperties.delimiter: String should have at most 1 character" in refused.stdout


def test_the_template_passes_the_conformance_suite(
    installed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(installed))  # and for the suite's runtime processes:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(installed), str(REPO)]))
    from acme_csv_columns import CsvColumnsConnector  # the installed copy

    data = tmp_path / "data"
    data.mkdir()
    (data / "orders.csv").write_text("id,total\n1,10\n")
    (data / "customers.csv").write_text("id,email\n")
    report = conformance(CsvColumnsConnector, endpoint=str(data))
    assert not report.failed and len(report.results) == len(Property), report
