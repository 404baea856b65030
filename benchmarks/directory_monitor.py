"""directory-monitor refresh throughput beside a floor measured in the same run.

Generates a tree of N files (default 20,000; 100 per directory) in a temporary directory and drives the
connector the way the runtime does (initialize, set_context with a files context over `open_repository`,
start, then `with context.refresh_batch(id): connector.refresh()`), so the real path is measured: the walk,
the context, the repository, deletion detection and the commit.

1. First refresh: elements + relationships written per second. Floor: the very same element and
   relationship rows (read back from the repository) written by a bare `executemany` into a fresh SQLite
   file with the same schema. Target: the connector reaches at least 25 % of the floor's rate.
2. A second refresh with nothing changed. Target: under 1 s for 20,000 files.

Run: python benchmarks/directory_monitor.py [--files N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import stopwatch, table
from repository_throughput import sqlite_floor

from metaferry_runtime.connectors.directory_monitor import DirectoryMonitorConnector
from metaferry_runtime.repository import ChangeCounts, open_repository
from metaferry_runtime.sdk import Connection
from metaferry_runtime.sdk.configuration import validate_configuration
from metaferry_runtime.sdk.contexts import FilesIntegratorContext, create_context

FILES_PER_DIRECTORY = 100
EXTENSIONS = ("csv", "json", "parquet", "avro", "txt")


def make_tree(root: Path, files: int) -> None:
    for index in range(files):
        directory = root / f"part-{index // FILES_PER_DIRECTORY:04d}"
        if index % FILES_PER_DIRECTORY == 0:
            directory.mkdir(parents=True)
        (directory / f"file-{index:06d}.{EXTENSIONS[index % len(EXTENSIONS)]}").write_bytes(b"x" * (index % 97))


def timed_refresh(
    context: FilesIntegratorContext, connector: DirectoryMonitorConnector, refresh_id: str
) -> tuple[float, ChangeCounts]:
    with stopwatch() as elapsed, context.refresh_batch(refresh_id) as batch:
        connector.refresh()
    return elapsed[0], batch.transaction.counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=20_000)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="metaferry-bench-") as work:
        workdir = Path(work)
        tree = workdir / "tree"
        make_tree(tree, arguments.files)
        database = workdir / "repository.db"
        repository = open_repository(f"sqlite:///{database}")
        context = create_context(
            "files",
            repository=repository,
            connector_name="directory-monitor",
            metadata_source_qualified_name="bench/directory-monitor",
        )
        assert isinstance(context, FilesIntegratorContext)
        connector = DirectoryMonitorConnector()
        connection = Connection(endpoint=str(tree))
        model = DirectoryMonitorConnector.configuration_model
        if model is not None:  # what the runtime does before initialize (lifecycle/configure.py)
            connector.accept_configuration(validate_configuration(model, connection.configuration_properties))
        connector.initialize(connection, "bench")
        connector.set_connector_name("directory-monitor")
        connector.set_context(context)
        connector.start()
        first, first_counts = timed_refresh(context, connector, "first")
        unchanged, unchanged_counts = timed_refresh(context, connector, "unchanged")
        connector.disconnect()
        context.disconnect()
        repository.close()
        elements = first_counts.created
        relationships = elements - 1  # every file and folder but the root is nested in its folder
        rows = elements + relationships
        floor = sqlite_floor(database, workdir / "floor.db", ("elements", "relationships"))
        ratio = floor / first
    print(
        table(
            ["measure", "directory-monitor", "floor (bare executemany)", "ratio / target"],
            [
                [
                    f"first refresh: {elements:,} elements + {relationships:,} relationships",
                    f"{rows / first:,.0f} rows/s ({first:.2f}s)",
                    f"{rows / floor:,.0f} rows/s ({floor:.2f}s)",
                    f"{ratio:.0%} " + ("ok (>= 25%)" if ratio >= 0.25 else "BELOW 25%"),
                ],
                [
                    f"no-change refresh ({unchanged_counts.unchanged:,} unchanged)",
                    f"{unchanged:.2f}s",
                    "-",
                    "ok (< 1 s)" if unchanged < 1.0 else "ABOVE 1 s",
                ],
            ],
        )
    )


if __name__ == "__main__":
    main()
