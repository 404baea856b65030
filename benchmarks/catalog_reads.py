"""The catalogue API's reads on PostgreSQL under concurrent readers, beside bare psycopg in the same run.

A repository of N elements (DataFiles, `--elements`, default 1,000,000) with `--edges` DataFlow edges
(default 100,000, in chains of 10) is served by `metaferry-catalog serve` (a separate process, token
auth). `--readers` threads (default 20) each issue `--requests` requests of each kind over HTTP:
  search  GET /api/v1/elements?type=DataFile&text=<a name>&limit=50
  get     GET /api/v1/elements/<guid>            (element + its first relationships)
  lineage GET /api/v1/elements/<chain start>/lineage?direction=downstream&depth=5
Floor: the same SQL (search; element and relationships; the lineage walk's per-hop queries) issued by
bare psycopg from as many threads, one connection each. Targets (issue 17): search p99 ≤ 50 ms, get p99
≤ 10 ms, each ≤ 2× the floor; lineage to depth 5 p99 ≤ 100 ms.

Run: python benchmarks/catalog_reads.py [--elements N] [--edges E] [--readers R] [--requests K]
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
import psycopg
from _common import drop_postgres_database, fresh_postgres_database, percentile, postgres_server_url, table
from psycopg.rows import namedtuple_row

from metaferry_runtime.repository import open_repository

ACTOR = "bench/files"
CHAIN = 10
BATCH = 50_000
TOKEN = "bench-reader-token"

SEARCH_SQL = (
    "SELECT * FROM elements WHERE search_text LIKE %s ESCAPE '\\' AND type_name = ANY(%s) AND status = 'ACTIVE'"
    " ORDER BY qualified_name LIMIT 51"
)
GET_SQL = "SELECT * FROM elements WHERE guid = %s"
RELATIONSHIPS_SQL = (
    "SELECT r.* FROM relationships r JOIN elements e1 ON e1.guid = r.end1_guid JOIN elements e2 ON e2.guid ="
    " r.end2_guid WHERE (r.end1_guid = %s OR r.end2_guid = %s) AND e1.status = 'ACTIVE' AND e2.status = 'ACTIVE'"
    " ORDER BY r.create_time, r.guid LIMIT %s"
)
HOP_SQL = (
    "SELECT r.* FROM relationships r JOIN elements e1 ON e1.guid = r.end1_guid JOIN elements e2 ON e2.guid ="
    " r.end2_guid WHERE (r.end1_guid = %s OR r.end2_guid = %s) AND r.type_name = %s AND e1.status = 'ACTIVE'"
    " AND e2.status = 'ACTIVE' ORDER BY r.create_time, r.guid LIMIT 10000"
)


def fill(url: str, elements: int, edges: int) -> tuple[list[str], list[str]]:
    """Returns (every GUID, the GUID starting each DataFlow chain)."""
    repository = open_repository(url)
    guids: list[str] = []
    try:
        for start in range(0, elements, BATCH):
            with repository.transaction(actor=ACTOR, refresh_id=f"fill-{start}") as tx:
                items = [
                    ("DataFile", f"file:///bench/d{i // 100}/f{i}.csv", {"name": f"f{i}.csv"})
                    for i in range(start, min(elements, start + BATCH))
                ]
                guids.extend(guid for guid, _ in tx.upsert_elements(items))
        starts = []
        flows = []
        for i in range(min(edges, elements - 1)):
            chain, position = divmod(i, CHAIN - 1)
            a = chain * CHAIN + position
            if position == 0:
                starts.append(guids[a])
            flows.append(("DataFlow", guids[a], guids[a + 1], None))
        for start in range(0, len(flows), BATCH):
            with repository.transaction(actor=ACTOR) as tx:
                tx.upsert_relationships(flows[start : start + BATCH])
    finally:
        repository.close()
    return guids, starts


def run(readers: int, requests: int, call: Callable[[random.Random], None]) -> tuple[list[float], float]:
    """Latencies (s) of readers x requests calls, and the throughput (calls/s)."""
    latencies: list[float] = []
    lock = threading.Lock()

    def reader(seed: int) -> None:
        rng = random.Random(seed)
        mine = []
        for _ in range(requests):
            began = time.perf_counter()
            call(rng)
            mine.append(time.perf_counter() - began)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(readers)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, len(latencies) / (time.perf_counter() - began)


def serve(url: str, tokens: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    catalog = Path(sys.executable).parent / "metaferry-catalog"
    process = subprocess.Popen(
        [str(catalog), "serve", "--repository", url, "--port", str(port), "--token-file", str(tokens)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(base + "/healthz").status_code == 200:
                return process, base
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the catalogue did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--elements", type=int, default=1_000_000)
    parser.add_argument("--edges", type=int, default=100_000)
    parser.add_argument("--readers", type=int, default=20)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    server = postgres_server_url()
    if server is None:
        raise SystemExit("no PostgreSQL: source .tmp/postgres.env (make postgres)")
    url, name = fresh_postgres_database(server)
    try:
        began = time.perf_counter()
        guids, starts = fill(url, args.elements, args.edges)
        print(f"filled {len(guids):,} elements, {args.edges:,} DataFlow edges in {time.perf_counter() - began:.0f} s")
        rows = measure(url, guids, starts, args)
    finally:
        drop_postgres_database(server, name)
    print(
        table(
            ["query", "floor p50 / p99 ms", "floor req/s", "catalogue p50 / p99 ms", "catalogue req/s", "p99 ratio"],
            rows,
        )
    )
    return 0


def measure(url: str, guids: list[str], starts: list[str], args: argparse.Namespace) -> list[list[str]]:
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    local = threading.local()

    def conn() -> psycopg.Connection:
        if not hasattr(local, "conn"):
            local.conn = psycopg.connect(dsn, autocommit=True, row_factory=namedtuple_row)
        return local.conn  # type: ignore[no-any-return]

    def name(rng: random.Random) -> str:
        return f"f{rng.randrange(len(guids))}.csv"

    def floor_search(rng: random.Random) -> None:
        conn().execute(
            SEARCH_SQL, (f"%{name(rng)}%", ["DataFile", "JSONFile", "AvroFile", "ParquetFile", "CSVFile"])
        ).fetchall()

    def floor_get(rng: random.Random) -> None:
        guid = rng.choice(guids)
        conn().execute(GET_SQL, (guid,)).fetchall()
        conn().execute(RELATIONSHIPS_SQL, (guid, guid, 51)).fetchall()

    def floor_lineage(rng: random.Random) -> None:
        """What the catalogue's walk issues: per element and hop, its DataFlow and LineageMapping
        relationships, then each newly reached element."""
        root = rng.choice(starts)
        conn().execute(GET_SQL, (root,)).fetchall()
        seen, frontier = {root}, [root]
        for _ in range(5):
            reached = []
            for g in frontier:
                for type_name in ("DataFlow", "LineageMapping"):
                    for row in conn().execute(HOP_SQL, (g, g, type_name)).fetchall():
                        if row.end1_guid == g and row.end2_guid not in seen:
                            seen.add(row.end2_guid)
                            conn().execute(GET_SQL, (row.end2_guid,)).fetchall()
                            reached.append(row.end2_guid)
            frontier = reached

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tokens = Path(tmp) / "tokens"
        tokens.write_text(TOKEN + "\n")
        process, base = serve(url, tokens)
        clients = threading.local()

        def http(path: str) -> None:
            if not hasattr(clients, "c"):
                clients.c = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"})
            response = clients.c.get(path)
            response.raise_for_status()

        calls = {
            "search": (floor_search, lambda rng: http(f"/api/v1/elements?type=DataFile&text={name(rng)}&limit=50")),
            "get": (floor_get, lambda rng: http(f"/api/v1/elements/{rng.choice(guids)}")),
            "lineage depth 5": (
                floor_lineage,
                lambda rng: http(f"/api/v1/elements/{rng.choice(starts)}/lineage?direction=downstream&depth=5"),
            ),
        }
        try:
            for label, (floor, catalogue) in calls.items():
                f_lat, f_rate = run(args.readers, args.requests, floor)
                c_lat, c_rate = run(args.readers, args.requests, catalogue)
                fp99, cp99 = percentile(f_lat, 0.99), percentile(c_lat, 0.99)
                rows.append(
                    [
                        label,
                        f"{percentile(f_lat, 0.5) * 1000:.1f} / {fp99 * 1000:.1f}",
                        f"{f_rate:.0f}",
                        f"{percentile(c_lat, 0.5) * 1000:.1f} / {cp99 * 1000:.1f}",
                        f"{c_rate:.0f}",
                        f"{cp99 / fp99:.2f}x",
                    ]
                )
        finally:
            process.terminate()
            process.wait(timeout=30)
    return rows


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
