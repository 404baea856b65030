"""Runtime footprint: process start to `/readyz` 200, and idle RSS, beside a floor measured in the same run.

The floor is the least any Python HTTP service can do: an interpreter that imports aiohttp and answers
`/readyz` at once. The ratio shows what metaferry adds (pydantic models, SQLAlchemy, the connector).

    python benchmarks/runtime_footprint.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import httpx

FLOOR_SERVER = textwrap.dedent(
    """\
    import sys
    from aiohttp import web
    async def ready(request):
        return web.json_response({"ready": True})
    app = web.Application()
    app.add_routes([web.get("/readyz", ready)])
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
    """
)

MANIFEST = textwrap.dedent(
    """\
    apiVersion: metaferry.io/v1alpha1
    kind: IntegrationConnector
    metadata: {{name: footprint}}
    spec:
      integrationService: files
      connector: directory-monitor
      connection: {{endpoint: {root}}}
    """
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def measure(command: list[str], port: int, *, settle: float = 3.0) -> tuple[float, float]:
    """Seconds from spawn to the first 200 from /readyz, and RSS (MiB) after `settle` seconds idle."""
    began = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=0.5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.perf_counter() - began > 30:
                raise RuntimeError(f"{command[:4]} did not become ready")
            time.sleep(0.005)
        ready = time.perf_counter() - began
        time.sleep(settle)
        return ready, rss_mib(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        root = Path(workdir) / "data"
        root.mkdir()
        for index in range(20):
            (root / f"file-{index}.csv").write_text("a,b\n1,2\n")
        manifest = Path(workdir) / "connector.yaml"
        manifest.write_text(MANIFEST.format(root=root))
        floor_script = Path(workdir) / "floor.py"
        floor_script.write_text(FLOOR_SERVER)
        results: dict[str, list[tuple[float, float]]] = {"floor": [], "runtime": []}
        for run in range(args.runs):
            port = free_port()
            results["floor"].append(measure([sys.executable, str(floor_script), str(port)], port))
            port = free_port()
            database = Path(workdir) / f"r{run}.db"
            command = [
                sys.executable,
                "-m",
                "metaferry_runtime.cli",
                "run",
                str(manifest),
                "--repository",
                f"sqlite:///{database}",
                "--listen",
                f"127.0.0.1:{port}",
                "--log-format",
                "json",
            ]
            results["runtime"].append(measure(command, port))
    floor_ready = statistics.median(r for r, _ in results["floor"])
    floor_rss = statistics.median(m for _, m in results["floor"])
    ready = statistics.median(r for r, _ in results["runtime"])
    rss = statistics.median(m for _, m in results["runtime"])
    print(f"runtime footprint, median of {args.runs} runs (python {sys.version.split()[0]}, {os.cpu_count()} cpus)")
    print(f"{'measure':<28}{'floor':>10}{'metaferry':>12}{'ratio':>8}{'target':>12}")
    print(
        f"{'start to /readyz 200 (s)':<28}{floor_ready:>10.3f}{ready:>12.3f}{ready / floor_ready:>8.2f}{'< 1.5 s':>12}"
    )
    print(f"{'idle RSS (MiB)':<28}{floor_rss:>10.1f}{rss:>12.1f}{rss / floor_rss:>8.2f}{'< 60 MiB':>12}")


if __name__ == "__main__":
    main()
