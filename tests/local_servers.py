"""What every throw-away server of the test suite does alike: install it, pick a port, start it, wait, stop it.

OPA, Kafka and slapd (`tests/*_server.py`) each add only what is theirs (configuration, how to tell it
answers, what tests ask it). Why one module: each had its own copy of the install call, the free port,
the start-and-wait loop with its deadline and the terminate-then-kill stop.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


class ServerUnavailable(RuntimeError):
    """A test server could not be installed or started; the message says what to run or what it printed."""


def free_port() -> int:
    """A loopback port free right now (the server binds it a moment later; collisions are not worth a retry)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def install_tool(
    script: Path, *, unavailable: type[ServerUnavailable], advice: str, directory: bool = False, timeout: float = 1800
) -> Path:
    """Run an idempotent install script that prints the installed path last; `unavailable` (with `advice`, the
    command to run and what it needs, and the script's stderr) when it fails or prints no such path."""
    result = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=timeout, check=False)
    lines = result.stdout.strip().splitlines()
    found = Path(lines[-1]) if lines else None
    if result.returncode != 0 or found is None or not (found.is_dir() if directory else found.is_file()):
        raise unavailable(f"{advice}\n{result.stderr.strip()[-3000:]}")
    return found


def script_command(script: Path) -> str:
    """`bash scripts/...`, relative to the repository, as a user would type it there."""
    return f"bash {script.relative_to(REPO_ROOT)}"


class ServerProcess:
    """One server process: its output goes to `log_path`, `start` returns once `answers()` is true."""

    def __init__(self, name: str, log_path: Path, *, unavailable: type[ServerUnavailable] = ServerUnavailable) -> None:
        self.name = name
        self.log_path = log_path
        self.unavailable = unavailable
        self.process: subprocess.Popen[bytes] | None = None

    def start(
        self, command: Sequence[str], *, answers: Callable[[], bool], deadline: float, poll_interval: float = 0.05
    ) -> None:
        """Start `command` and wait until `answers()`; a server that exits first, or does not answer within
        `deadline` seconds, raises `unavailable` with the tail of its log (and is stopped)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(list(command), stdout=log, stderr=subprocess.STDOUT)
        give_up = time.monotonic() + deadline
        while True:
            if self.process.poll() is not None:
                code = self.process.returncode
                self.process = None
                raise self.unavailable(f"{self.name} exited with {code} at start: {self.log()[-3000:]}")
            if answers():
                return
            if time.monotonic() > give_up:
                self.stop()
                raise self.unavailable(f"{self.name} did not answer within {deadline}s: {self.log()[-3000:]}")
            time.sleep(poll_interval)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, *, timeout: float = 20) -> None:
        """SIGTERM, then SIGKILL after `timeout` seconds."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def accepts_connections(port: int, host: str = "127.0.0.1") -> bool:
    """True once something listens on the port."""
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        return False
    return True
