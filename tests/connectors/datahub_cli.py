"""DataHub's CLI for the catalog-exchange tests: `datahub ingest` from its own virtualenv, offline.

scripts/install-datahub.sh installs PyPI `acryl-datahub` (with its PostgreSQL source) into a cached
virtualenv of its own, never into metaferry's; `datahub_offline.py` runs the CLI there with telemetry and
release checks off. A run passes `--strict-warnings`, so any failure or warning of the source or the sink
makes its exit status non-zero, and `IngestRun.check()` fails the test with DataHub's own output.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
INSTALL_SCRIPT = REPO_ROOT / "scripts" / "install-datahub.sh"
OFFLINE = Path(__file__).resolve().parent / "datahub_offline.py"
INGEST_TIMEOUT = 300


class DataHubUnavailable(Exception):
    """acryl-datahub could not be installed; the message says what to run."""


@dataclass(frozen=True)
class IngestRun:
    returncode: int
    output: str

    @property
    def events(self) -> int:
        """How many records the pipeline produced, as its closing line says."""
        found = re.search(r"Pipeline finished.*?produced (\d+) events", self.output)
        return int(found.group(1)) if found else -1

    def check(self) -> IngestRun:
        """The run itself, when it finished with no failure and no warning."""
        if self.returncode != 0 or "Pipeline finished successfully" not in self.output:
            raise AssertionError(f"datahub ingest failed (exit {self.returncode}):\n{self.output[-6000:]}")
        return self


@dataclass(frozen=True)
class DataHubCli:
    bin: Path

    @property
    def python(self) -> Path:
        return self.bin / "python"

    def ingest(self, recipe: dict[str, Any], workdir: Path) -> IngestRun:
        """`datahub ingest -c <recipe> --strict-warnings`, with the recipe written as JSON (YAML reads it)."""
        workdir.mkdir(parents=True, exist_ok=True)
        recipe_path = workdir / "recipe.yml"
        recipe_path.write_text(json.dumps(recipe, indent=2))
        environment = {**os.environ, "DATAHUB_TELEMETRY_ENABLED": "false", "HOME": str(workdir)}
        result = subprocess.run(
            [str(self.python), str(OFFLINE), "ingest", "-c", str(recipe_path), "--strict-warnings"],
            capture_output=True,
            text=True,
            timeout=INGEST_TIMEOUT,
            env=environment,
            check=False,
        )
        return IngestRun(result.returncode, result.stdout + result.stderr)

    def file_to_file(self, source: Path, sink: Path, workdir: Path) -> IngestRun:
        """DataHub's file source reading `source` into its file sink writing `sink`."""
        return self.ingest(
            {
                "source": {"type": "file", "config": {"path": str(source)}},
                "sink": {"type": "file", "config": {"filename": str(sink)}},
            },
            workdir,
        )

    def invalid_records(self, path: Path) -> list[str]:
        """The records of a metadata file that DataHub's own classes refuse (each aspect against its schema)."""
        lines = self.run_python(VALIDATE, str(path)).splitlines()
        assert lines and lines[-1].startswith("checked "), lines
        return lines[:-1]

    def run_python(self, code: str, *args: str) -> str:
        """Run code with DataHub's own Python (its SDK importable); returns what it printed."""
        result = subprocess.run(
            [str(self.python), "-c", code, *args],
            capture_output=True,
            text=True,
            timeout=INGEST_TIMEOUT,
            env={**os.environ, "DATAHUB_TELEMETRY_ENABLED": "false"},
            check=False,
        )
        if result.returncode != 0:
            raise AssertionError(f"DataHub's Python failed:\n{result.stderr[-4000:]}")
        return result.stdout


#: Reads a metadata file with DataHub's own classes and prints each record its validation refuses, then a count.
VALIDATE = """
import json, sys
from datahub.emitter.mcp import MetadataChangeProposalWrapper
records = json.load(open(sys.argv[1]))
for record in records:
    if not MetadataChangeProposalWrapper.from_obj(record).validate():
        print("invalid", record["entityUrn"], record["aspectName"])
print("checked", len(records))
"""


def install_datahub() -> DataHubCli:
    """The CLI, installed by scripts/install-datahub.sh if it is not cached yet."""
    try:
        result = subprocess.run([str(INSTALL_SCRIPT)], capture_output=True, text=True, timeout=1800, check=False)
    except subprocess.TimeoutExpired:
        raise DataHubUnavailable(f"{INSTALL_SCRIPT} timed out; run `bash scripts/install-datahub.sh`") from None
    if result.returncode != 0:
        raise DataHubUnavailable(
            f"acryl-datahub is not installed and {INSTALL_SCRIPT} failed (it needs pip and PyPI);"
            f" run `bash scripts/install-datahub.sh` to see why:\n{result.stderr[-2000:]}"
        )
    return DataHubCli(Path(result.stdout.strip().splitlines()[-1]))
