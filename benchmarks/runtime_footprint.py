"""Runtime footprint: process start to `/readyz` 200, and idle RSS, beside a floor measured in the same run.

Two floors, each a process that answers `/readyz` at once: "aiohttp" is the least any Python HTTP service
can do; "libraries" also puts to minimal use every library the runtime is built on (a pydantic model, a
SQLAlchemy Core table in a SQLite file, a prometheus-client counter, a YAML document). The ratio to the
second shows what metaferry's own code and data add.

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

LIBRARIES_FLOOR_SERVER = textwrap.dedent(
    """\
    import sys
    import prometheus_client, pydantic, sqlalchemy, yaml
    from aiohttp import web
    class Spec(pydantic.BaseModel):
        name: str
        interval: int = pydantic.Field(default=60, ge=1)
    spec = Spec.model_validate(yaml.safe_load("name: floor"))
    engine = sqlalchemy.create_engine(f"sqlite:///{sys.argv[2]}")
    table = sqlalchemy.Table(
        "t", sqlalchemy.MetaData(), sqlalchemy.Column("name", sqlalchemy.String, primary_key=True)
    )
    table.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(table.insert(), [{"name": spec.name}])
    requests = prometheus_client.Counter("floor_requests", "requests")
    async def ready(request):
        requests.inc()
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
        libraries_script = Path(workdir) / "libraries.py"
        libraries_script.write_text(LIBRARIES_FLOOR_SERVER)
        results: dict[str, list[tuple[float, float]]] = {"floor": [], "libraries": [], "runtime": []}
        for run in range(args.runs):
            port = free_port()
            results["floor"].append(measure([sys.executable, str(floor_script), str(port)], port))
            port = free_port()
            floor_db = str(Path(workdir) / f"floor{run}.db")
            results["libraries"].append(measure([sys.executable, str(libraries_script), str(port), floor_db], port))
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
    ready = {name: statistics.median(r for r, _ in runs) for name, runs in results.items()}
    rss = {name: statistics.median(m for _, m in runs) for name, runs in results.items()}
    print(f"runtime footprint, median of {args.runs} runs (python {sys.version.split()[0]}, {os.cpu_count()} cpus)")
    header = ("measure", "floor: aiohttp", "floor: libraries", "metaferry", "ratio", "target")
    print(f"{header[0]:<26}{header[1]:>16}{header[2]:>18}{header[3]:>11}{header[4]:>7}{header[5]:>10}")
    for label, values, unit, target in (
        ("start to /readyz 200", ready, "s", "< 1.5 s"),
        ("idle RSS", rss, "MiB", "< 60 MiB"),
    ):
        floor, libraries, runtime = values["floor"], values["libraries"], values["runtime"]
        digits = 3 if unit == "s" else 1
        row = f"{label + f' ({unit})':<26}{floor:>16.{digits}f}{libraries:>18.{digits}f}{runtime:>11.{digits}f}"
        print(f"{row}{runtime / libraries:>7.2f}{target:>10}")
    print("ratio: metaferry over the libraries floor")


if __name__ == "__main__":
    main()
