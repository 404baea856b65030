"""Repository throughput and out-topic latency, each beside a floor measured in the same run.

1. Upsert N elements (folders and files, one NestedFile relationship per file) in one refresh transaction,
   on SQLite and on PostgreSQL. Floor: the very same element and relationship rows (read back from the
   repository) written by the bare driver into a fresh database with the same schema: `executemany` on
   SQLite, `COPY` on PostgreSQL. The repository also writes one out-topic event per change; the floor
   does not. Target: the repository's rate is at least 40 % of the floor's.
2. A second refresh that changes nothing (must stay far below a second for 20,000 files).
3. Fan-out latency: one element per transaction; a listener in another process prints when it receives
   each event; latency = receipt - the moment the writer began to commit. p50/p99.

Run: python benchmarks/repository_throughput.py [--elements N] [--latency-samples K] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import json
import queue
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    drop_postgres_database,
    fresh_postgres_database,
    percentile,
    postgres_server_url,
    stopwatch,
    table,
)

from metaferry_runtime.repository import ChangeEvent, MetadataRepository, open_repository

ACTOR = "bench/directory-monitor"
FILES_PER_FOLDER = 100


def refresh(repository: MetadataRepository, elements: int, refresh_id: str) -> tuple[float, int]:
    """One refresh over `elements` elements; returns (seconds, relationships)."""
    folders = max(1, elements // (FILES_PER_FOLDER + 1))
    files = elements - folders
    links = 0
    with stopwatch() as elapsed, repository.transaction(actor=ACTOR, refresh_id=refresh_id) as tx:
        folder_guids = [
            tx.upsert_element("FileFolder", f"file:///bench/d{d}", {"name": f"d{d}", "pathName": f"/bench/d{d}"})[
                0
            ].guid
            for d in range(folders)
        ]
        for i in range(files):
            d = i % folders
            file, _ = tx.upsert_element(
                "CSVFile",
                f"file:///bench/d{d}/f{i}.csv",
                {"name": f"f{i}.csv", "pathName": f"/bench/d{d}/f{i}.csv", "size": 1000 + i, "fileType": "csv"},
            )
            tx.upsert_relationship("NestedFile", folder_guids[d], file.guid)
            links += 1
        tx.archive_unobserved(type_names=["DataFile", "FileFolder"])
    return elapsed[0], links


def _rows(connection: Any, table_name: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    cursor = connection.cursor()
    cursor.execute(f"SELECT * FROM {table_name}")
    columns = [d[0] for d in cursor.description]
    return columns, [tuple(row) for row in cursor.fetchall()]


def sqlite_floor(source: Path, target: Path, tables: tuple[str, ...]) -> float:
    """Seconds for executemany of the source repository's rows of `tables` into a fresh schema."""
    target.unlink(missing_ok=True)
    open_repository(f"sqlite:///{target}").close()  # same schema and indexes
    with sqlite3.connect(source) as src:
        data = [(name, *_rows(src, name)) for name in tables]
    conn = sqlite3.connect(target, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    with stopwatch() as elapsed:
        conn.execute("BEGIN IMMEDIATE")
        for name, columns, rows in data:
            conn.executemany(
                f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", rows
            )
        conn.execute("COMMIT")
    conn.close()
    return elapsed[0]


def postgres_floor(source_url: str, target_url: str, tables: tuple[str, ...]) -> float:
    """Seconds for COPY of the source repository's rows of `tables` into a fresh schema."""
    import psycopg
    from psycopg.types.json import Jsonb

    open_repository(target_url).close()
    with psycopg.connect(source_url) as src:
        data = [(name, *_rows(src, name)) for name in tables]

    def adapt(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return [tuple(Jsonb(v) if isinstance(v, dict | list) else v for v in row) for row in rows]

    data = [(name, columns, adapt(rows)) for name, columns, rows in data]
    with psycopg.connect(target_url) as conn, stopwatch() as elapsed:
        with conn.cursor() as cursor:
            for name, columns, rows in data:
                with cursor.copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        conn.commit()
    return elapsed[0]


# --- fan-out latency ---------------------------------------------------------------------------------------
def child_listener(url: str) -> None:
    """Runs in the other process: print '<qualified name> <receipt time>' per event."""
    repository = open_repository(url, poll_interval=0.1)

    def show(event: ChangeEvent) -> None:
        if event.element is not None:
            print(event.element.qualified_name, time.time(), flush=True)

    repository.register_listener(show)
    print("ready", flush=True)
    sys.stdin.read()
    repository.close()


def fan_out_latency(url: str, samples: int) -> list[float]:
    child = subprocess.Popen(
        [sys.executable, __file__, "--child-listener", url], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            lines.put(line.strip())

    threading.Thread(target=read, daemon=True).start()
    assert lines.get(timeout=60) == "ready"
    repository = open_repository(url)
    began: dict[str, float] = {}
    latencies: list[float] = []
    try:
        for i in range(samples):
            name = f"latency/{i}"
            with repository.transaction(actor=ACTOR) as tx:
                tx.upsert_element("DataFile", name, {"size": i})
                began[name] = time.time()
            received_name, received_at = lines.get(timeout=30).split(" ")
            latencies.append(float(received_at) - began[received_name])
            time.sleep(0.01)  # one event at a time: measure latency, not batching
    finally:
        repository.close()
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=30)
    return latencies


# --- driver --------------------------------------------------------------------------------------------------
def run_backend(backend: str, elements: int, samples: int, workdir: Path, pg_server: str | None) -> list[list[Any]]:
    cleanup: list[str] = []
    try:
        if backend == "sqlite":
            url = f"sqlite:///{workdir / 'repository.db'}"
        else:
            assert pg_server is not None
            url, name = fresh_postgres_database(pg_server)
            cleanup.append(name)
        repository = open_repository(url)
        first, links = refresh(repository, elements, "r1")
        unchanged, _ = refresh(repository, elements, "r2")
        repository.close()
        rows = elements + links
        data_tables = ("elements", "relationships")
        all_tables = (*data_tables, "events")
        if backend == "sqlite":
            floor = sqlite_floor(workdir / "repository.db", workdir / "floor.db", data_tables)
            floor_all = sqlite_floor(workdir / "repository.db", workdir / "floor.db", all_tables)
            floor_name = "executemany"
        else:
            assert pg_server is not None
            floors = []
            for tables in (data_tables, all_tables):
                floor_url, floor_db = fresh_postgres_database(pg_server)
                cleanup.append(floor_db)
                floors.append(postgres_floor(url, floor_url, tables))
            floor, floor_all = floors
            floor_name = "COPY"
        latencies = fan_out_latency(url, samples) if samples else []
        ratio = floor / first
        return [
            [
                backend,
                f"{elements:,} + {links:,} rel",
                f"{rows / first:,.0f}/s ({first:.2f}s)",
                f"{floor_name} {rows / floor:,.0f}/s ({floor:.2f}s)",
                f"{ratio:.0%}" + (" ok" if ratio >= 0.40 else " BELOW 40%"),
                f"{floor_all:.2f}s, {floor_all / first:.0%}",
                f"{unchanged:.2f}s",
                f"{percentile(latencies, 0.5) * 1000:.1f} / {percentile(latencies, 0.99) * 1000:.1f} ms"
                if latencies
                else "-",
            ]
        ]
    finally:
        if pg_server is not None:
            for name in cleanup:
                drop_postgres_database(pg_server, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--elements", type=int, default=100_000)
    parser.add_argument("--latency-samples", type=int, default=200)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--child-listener", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_listener:
        child_listener(args.child_listener)
        return
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    pg_server = postgres_server_url() if "postgresql" in backends else None
    if "postgresql" in backends and pg_server is None:
        print("PostgreSQL unavailable (scripts/start-postgres.sh failed); skipping it", file=sys.stderr)
        backends.remove("postgresql")
    results: list[list[Any]] = []
    with tempfile.TemporaryDirectory(prefix="metaferry-bench-") as workdir:
        for backend in backends:
            results += run_backend(backend, args.elements, args.latency_samples, Path(workdir), pg_server)
    print(
        table(
            [
                "backend",
                "elements",
                "repository upsert",
                "floor (same rows)",
                "ratio",
                "floor incl. events, ratio",
                "no-change refresh",
                "fan-out p50 / p99",
            ],
            results,
        )
    )
    print(
        "\nratio = repository rate / floor rate (target >= 40%); the repository also writes one event per change."
        "\nSQLite fan-out to another process is by polling (0.1 s here); PostgreSQL's by LISTEN/NOTIFY."
    )
    print(json.dumps({"results": results}), file=sys.stderr)


if __name__ == "__main__":
    main()
