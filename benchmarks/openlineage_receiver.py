"""openlineage-receiver: acknowledgement throughput and latency under 20 concurrent clients, beside a floor.

10,000 OpenLineage run events (5,000 runs of 250 jobs, START then COMPLETE, one input and one output each)
are posted by 20 concurrent HTTP clients (a separate process: aiohttp, one keep-alive connection each, as
the OpenLineage HTTP transport keeps one) to `POST /api/v1/lineage`:

1. Floor: a bare aiohttp handler that appends each body to a file, in the same process layout (its own
   thread and event loop, as the receiver's).
2. The receiver, run as the runtime runs it (the test kit's harness: configured, started, with engage() in a
   loop on its own thread cataloguing into a SQLite repository while the clients post): each event is
   authenticated, validated, appended and synced to the journal before its 201.

Reported: events/s and p50/p99 acknowledgement latency for both; then the time the catalogue took to catch
up after the last acknowledgement, and the events counted in the repository (each run must be COMPLETE with
its start time: both of its events were catalogued). Targets: >= 1,000 events/s; p99 <= 3x the floor's p99;
no event lost.

Run: python benchmarks/openlineage_receiver.py [--events N] [--clients N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import percentile, table
from aiohttp import web

from metaferry_runtime.connectors.openlineage_receiver import OpenLineageReceiverConnector
from metaferry_runtime.testing import ConnectorHarness, elements_under

TOKEN = "benchmark-token-0123456789"
JOBS = 250

CLIENTS_SCRIPT = r"""
import asyncio, json, sys, time
import aiohttp

async def main(url, token, bodies_path, clients):
    bodies = [line.rstrip(b"\n") for line in open(bodies_path, "rb")]
    shares = [bodies[i::clients] for i in range(clients)]
    latencies, statuses = [], {}
    headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}

    async def client(share):
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
            for body in share:
                start = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                latencies.append(time.perf_counter() - start)
                statuses[response.status] = statuses.get(response.status, 0) + 1

    start = time.perf_counter()
    await asyncio.gather(*(client(share) for share in shares))
    print(json.dumps({"elapsed": time.perf_counter() - start, "latencies": latencies, "statuses": statuses}))

asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
"""


def make_events(path: Path, count: int) -> int:
    """`count` events (START and COMPLETE of count/2 runs) as JSON lines; returns the number of runs."""
    runs = count // 2
    with path.open("wb") as out:
        for number in range(runs):
            job, run_id = f"job_{number % JOBS:03d}", str(uuid.uuid4())
            minute = number // JOBS
            for state, second in (("START", "00"), ("COMPLETE", "30")):
                event = {
                    "eventType": state,
                    "eventTime": f"2026-01-02T{minute // 60:02d}:{minute % 60:02d}:{second}Z",
                    "producer": "https://example.com/benchmark",
                    "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
                    "run": {"runId": run_id},
                    "job": {"namespace": "benchmark", "name": job},
                    "inputs": [{"namespace": "s3://lake", "name": f"raw/{job}"}],
                    "outputs": [{"namespace": "s3://lake", "name": f"clean/{job}"}],
                }
                out.write(json.dumps(event).encode() + b"\n")
    return runs


def post_all(url: str, bodies: Path, clients: int) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-c", CLIENTS_SCRIPT, url, TOKEN, str(bodies), str(clients)],
        capture_output=True,
        text=True,
        check=True,
    )
    measured: dict[str, Any] = json.loads(result.stdout)
    return measured


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class FloorServer:
    """A bare aiohttp handler appending each body to a file, on its own thread and event loop."""

    def __init__(self, path: Path) -> None:
        self.path, self.port = path, free_port()
        self._ready, self._loop, self._stop = threading.Event(), None, None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        with self.path.open("ab") as file:

            async def handle(request: web.Request) -> web.Response:
                file.write(await request.read() + b"\n")
                return web.Response(status=201)

            app = web.Application()
            app.router.add_post("/api/v1/lineage", handle)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", self.port).start()
            self._ready.set()
            await self._stop.wait()
            await runner.cleanup()

    def __enter__(self) -> FloorServer:
        self._thread.start()
        self._ready.wait()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join()


def engage_loop(harness: ConnectorHarness[OpenLineageReceiverConnector], stop: threading.Event) -> None:
    while not stop.is_set():
        harness.connector.engage()


def summary(name: str, measured: dict[str, Any], events: int) -> list[object]:
    latencies = measured["latencies"]
    return [
        name,
        f"{events / measured['elapsed']:,.0f}",
        f"{percentile(latencies, 0.5) * 1000:.1f}",
        f"{percentile(latencies, 0.99) * 1000:.1f}",
        json.dumps(measured["statuses"]),
    ]


@dataclass
class ReceiverRun:
    sync: bool
    measured: dict[str, Any]
    caught_up: float
    processes: int
    complete: int


def measure_receiver(workdir: Path, bodies: Path, clients: int, *, sync: bool) -> ReceiverRun:
    """Post every event to a receiver run by the test kit, with engage() on its own thread; count the result."""
    port = free_port()
    harness = ConnectorHarness.create(
        OpenLineageReceiverConnector,
        listener_port=port,
        uses_blocking_calls=True,
        secrets={"token": TOKEN},
        configuration_properties={"journalDirectory": str(workdir / "journal"), "syncJournal": sync},
        repository_url=f"sqlite:///{workdir / 'catalogue.db'}",
    )
    stop = threading.Event()
    engage = threading.Thread(target=engage_loop, args=(harness, stop), name="engage")
    engage.start()
    try:
        measured = post_all(f"http://127.0.0.1:{port}/api/v1/lineage", bodies, clients)
        acknowledged = time.perf_counter()
        while not harness.connector.caught_up:
            time.sleep(0.05)
        caught_up = time.perf_counter() - acknowledged
        stop.set()
        engage.join()
        processes = elements_under(harness, "Process", "openlineage:job:benchmark/")
        complete = sum(
            1
            for process in processes.values()
            for run in json.loads(process.properties["additionalProperties"]["openLineageRuns"])
            if run["state"] == "COMPLETE" and run["start_time"]
        )
    finally:
        stop.set()
        engage.join()
        harness.close()
    return ReceiverRun(sync, measured, caught_up, len(processes), complete)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=20)
    arguments = parser.parse_args()
    os.environ["METAFERRY_LISTEN_HOST"] = "127.0.0.1"
    with tempfile.TemporaryDirectory(prefix="metaferry-bench-") as work:
        workdir = Path(work)
        bodies = workdir / "events.jsonl"
        runs = make_events(bodies, arguments.events)
        events = runs * 2

        with FloorServer(workdir / "floor.jsonl") as floor:
            floor_measured = post_all(f"http://127.0.0.1:{floor.port}/api/v1/lineage", bodies, arguments.clients)

        receivers = [
            measure_receiver(workdir / "synced", bodies, arguments.clients, sync=True),
            measure_receiver(workdir / "written", bodies, arguments.clients, sync=False),
        ]

    rows = [summary("floor: bare aiohttp, append to a file", floor_measured, events)]
    rows += [
        summary(f"openlineage-receiver, syncJournal: {str(r.sync).lower()}", r.measured, events) for r in receivers
    ]
    print(table(["server", "events/s", "p50 ms", "p99 ms", "statuses"], rows))
    floor_p99 = percentile(floor_measured["latencies"], 0.99)
    print()
    for r in receivers:
        p99 = percentile(r.measured["latencies"], 0.99)
        print(
            f"syncJournal {str(r.sync).lower()}: {events / r.measured['elapsed']:,.0f} events/s (target >= 1,000);"
            f" p99 {p99 / floor_p99:.2f}x the floor's (target <= 3x); catalogue caught up {r.caught_up:.2f} s after"
            f" the last acknowledgement; events in the repository: {r.complete * 2:,} of {events:,}"
            f" ({r.processes} processes, {r.complete:,} runs)"
        )


if __name__ == "__main__":
    main()
