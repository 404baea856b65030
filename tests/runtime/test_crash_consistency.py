"""A runtime killed (SIGKILL) at a random moment of a large refresh leaves the repository exactly as it was
before that refresh or exactly as the refresh wrote it, never a mix: on SQLite and on PostgreSQL, 20 kills
each. The moments are drawn from a fixed seed, spread over the whole refresh (writes and commit)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from metaferry_runtime.repository import Page, open_repository
from tests.repositories import ON_BOTH_BACKENDS

ELEMENTS = 2000
KILLS = 20
SEED = 20261203

MANIFEST = """\
apiVersion: metaferry.io/v1alpha1
kind: IntegrationConnector
metadata:
  name: generations
spec:
  integrationService: files
  connector: tests.runtime.sample_connectors:GenerationConnector
  deletionDetection:
    enabled: false
  connection:
    configurationProperties:
      elements: {elements}
      generation: {generation}
      startedFile: {started}
"""


def generations(url: str) -> tuple[int, set[str]]:
    """How many elements the repository holds, and the distinct generations they carry."""
    repository = open_repository(url)
    try:
        with repository.transaction(actor="test/reader") as transaction:
            found = transaction.find_elements(
                type_name="DataFile", metadata_collection="default/generations", page=Page(page_size=10_000)
            )
    finally:
        repository.close()
    return len(found), {str(element.properties.get("description")) for element in found}


def refresh(url: str, directory: Path, generation: int, *, kill_after: float | None) -> bool:
    """Run one refresh as a process; with kill_after, SIGKILL it that long after the refresh began.
    True when it ran to completion."""
    started = directory / f"started-{generation}"
    manifest = directory / f"generation-{generation}.yaml"
    manifest.write_text(MANIFEST.format(elements=ELEMENTS, generation=generation, started=started))
    process = subprocess.Popen(
        [sys.executable, "-m", "metaferry_runtime.cli", "run", str(manifest), "--once", "--repository", url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    try:
        if kill_after is None:
            _, err = process.communicate(timeout=300)
            assert process.returncode == 0, err.decode()
            return True
        deadline = time.monotonic() + 120
        while not started.exists():
            assert process.poll() is None, f"the runtime ended before its refresh began: {process.stderr}"
            assert time.monotonic() < deadline, "the refresh never began"
            time.sleep(0.005)
        time.sleep(kill_after)
        finished = process.poll() is not None
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        return finished and process.returncode == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@ON_BOTH_BACKENDS
def test_a_runtime_killed_during_a_refresh_leaves_the_state_before_or_after_it(
    repository_url: str, tmp_path: Path
) -> None:
    began = time.monotonic()
    refresh(repository_url, tmp_path, 0, kill_after=None)
    duration = time.monotonic() - began  # the whole run: an upper bound of the refresh itself
    assert generations(repository_url) == (ELEMENTS, {"generation 0"})

    draw = random.Random(SEED)
    committed = 0
    outcomes = {"before": 0, "after": 0}
    for generation in range(1, KILLS + 1):
        finished = refresh(repository_url, tmp_path, generation, kill_after=draw.uniform(0, duration))
        count, seen = generations(repository_url)
        assert count == ELEMENTS, f"kill {generation}: {count} elements"
        assert seen in ({f"generation {committed}"}, {f"generation {generation}"}), (
            f"kill {generation}: a mix of {sorted(seen)}"
        )
        if seen == {f"generation {generation}"}:
            committed = generation
            outcomes["after"] += 1
        else:
            assert not finished, f"kill {generation}: the run finished but its refresh is not in the repository"
            outcomes["before"] += 1
    # The draws must have hit the refresh itself, not only its end: most kills leave the state before.
    assert outcomes["before"] >= KILLS // 4, outcomes
