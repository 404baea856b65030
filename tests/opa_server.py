"""A throw-away Open Policy Agent server for the opa-publisher tests and benchmark.

The binary is built by scripts/install-opa.sh (idempotent, cached under ~/.cache/metaferry/opa) and run on
a free loopback port with bearer-token authentication and a small `system.authz` policy: the admin token may
do anything (load policies, read decisions), the publisher token may only check health and read and write
data outside `system`. Its data lives in memory, so `restart()` is a real "OPA lost its data" fault.
"""

from __future__ import annotations

import secrets
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
INSTALL_SCRIPT = REPO_ROOT / "scripts" / "install-opa.sh"
START_DEADLINE = 30.0

AUTHZ_POLICY = """package system.authz

import rego.v1

default allow := false

allow if input.identity == "{admin}"

allow if {{
  input.identity == "{publisher}"
  input.path == ["health"]
}}

allow if {{
  input.identity == "{publisher}"
  input.method in {{"GET", "PUT", "PATCH"}}
  input.path[0] == "v1"
  input.path[1] == "data"
  count(input.path) > 2
  input.path[2] != "system"
}}
"""


class OpaUnavailable(RuntimeError):
    """OPA could not be built or started; the message names the command to run."""


def install_opa() -> Path:
    """The opa binary, built by scripts/install-opa.sh if it is not cached yet."""
    result = subprocess.run(["bash", str(INSTALL_SCRIPT)], capture_output=True, text=True, check=False)
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines or not Path(lines[-1]).is_file():
        raise OpaUnavailable(
            f"Open Policy Agent could not be built; run `bash {INSTALL_SCRIPT.relative_to(REPO_ROOT)}` "
            f"(it needs Go and the Go module proxy):\n{result.stderr[-3000:]}"
        )
    return Path(lines[-1])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class OpaServer:
    binary: Path
    directory: Path
    port: int = field(default_factory=free_port)
    admin_token: str = field(default_factory=lambda: f"admin-{secrets.token_hex(16)}")
    publisher_token: str = field(default_factory=lambda: f"publisher-{secrets.token_hex(16)}")
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        policy = self.directory / "authz.rego"
        policy.write_text(AUTHZ_POLICY.format(admin=self.admin_token, publisher=self.publisher_token))
        log = (self.directory / "opa.log").open("ab")
        self.process = subprocess.Popen(
            [
                str(self.binary),
                *("run", "--server", "--addr", f"127.0.0.1:{self.port}"),
                *("--authentication=token", "--authorization=basic", "--log-level=error"),
                str(policy),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + START_DEADLINE
        while True:
            if self.process.poll() is not None:
                raise OpaUnavailable(f"opa exited with {self.process.returncode}: {self.log()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/health", headers=self._admin, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise OpaUnavailable(f"opa did not answer on {self.url} within {START_DEADLINE}s: {self.log()}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None

    def restart(self) -> None:
        """Stop and start on the same port: OPA comes back without the data published to it."""
        self.stop()
        self.start()

    def log(self) -> str:
        path = self.directory / "opa.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # --- what tests ask OPA, as its administrator ------------------------------------------------------------
    @property
    def _admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}

    def load_policy(self, name: str, rego: str) -> None:
        response = httpx.put(f"{self.url}/v1/policies/{name}", content=rego, headers=self._admin, timeout=10)
        response.raise_for_status()

    def decide(self, path: str, input_document: dict[str, Any]) -> Any:
        """The value of `data.<path>` for the input (None when undefined)."""
        response = httpx.post(
            f"{self.url}/v1/data/{path}", json={"input": input_document}, headers=self._admin, timeout=10
        )
        response.raise_for_status()
        return response.json().get("result")

    def data(self, path: str) -> Any:
        response = httpx.get(f"{self.url}/v1/data/{path}", headers=self._admin, timeout=10)
        response.raise_for_status()
        return response.json().get("result")

    def delete_data(self, path: str) -> None:
        response = httpx.delete(f"{self.url}/v1/data/{path}", headers=self._admin, timeout=10)
        if response.status_code != 404:
            response.raise_for_status()


def start_opa(directory: Path | None = None) -> OpaServer:
    server = OpaServer(binary=install_opa(), directory=directory or Path(tempfile.mkdtemp(prefix="metaferry-opa-")))
    server.start()
    return server
