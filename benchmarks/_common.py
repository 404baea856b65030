"""Small helpers shared by the benchmarks: timing, percentiles, a plain-text table, a PostgreSQL server."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    """`with stopwatch() as elapsed:` ... `elapsed[0]` is the seconds the block took."""
    result: list[float] = []
    start = time.perf_counter()
    try:
        yield result
    finally:
        result.append(time.perf_counter() - start)


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def postgres_server_url() -> str | None:
    """METAFERRY_TEST_POSTGRES_URL, else the server scripts/start-postgres.sh starts (None if it cannot)."""
    url = os.environ.get("METAFERRY_TEST_POSTGRES_URL")
    if url:
        return url
    result = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "start-postgres.sh")], capture_output=True, text=True, check=False
    )
    return result.stdout.strip().splitlines()[-1] if result.returncode == 0 and result.stdout.strip() else None


def fresh_postgres_database(server_url: str) -> tuple[str, str]:
    """Create a database; returns (its URL, its name)."""
    import psycopg
    from psycopg import sql

    name = f"mf_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return f"{server_url.rpartition('/')[0]}/{name}", name


def drop_postgres_database(server_url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
