"""A throw-away Open Policy Agent server for the opa-publisher tests and benchmark.

The binary is built by scripts/install-opa.sh (idempotent, cached under ~/.cache/metaferry/opa) and run on
a free loopback port with bearer-token authentication and a small `system.authz` policy: the admin token may
do anything (load policies, read decisions), the publisher token may only check health and read and write
data outside `system`. Its data lives in memory, so `restart()` is a real "OPA lost its data" fault.
"""

from __future__ import annotations

import secrets
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.local_servers import REPO_ROOT, ServerProcess, ServerUnavailable, free_port, install_tool, script_command

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


class OpaUnavailable(ServerUnavailable):
    """OPA could not be built or started; the message names the command to run."""


def install_opa() -> Path:
    """The opa binary, built by scripts/install-opa.sh if it is not cached yet."""
    return install_tool(
        INSTALL_SCRIPT,
        unavailable=OpaUnavailable,
        advice=f"Open Policy Agent could not be built; run `{script_command(INSTALL_SCRIPT)}` "
        "(it needs Go and the Go module proxy):",
    )


@dataclass
class OpaServer:
    binary: Path
    directory: Path
    port: int = field(default_factory=free_port)
    admin_token: str = field(default_factory=lambda: f"admin-{secrets.token_hex(16)}")
    publisher_token: str = field(default_factory=lambda: f"publisher-{secrets.token_hex(16)}")

    def __post_init__(self) -> None:
        self.server = ServerProcess("opa", self.directory / "opa.log", unavailable=OpaUnavailable)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        policy = self.directory / "authz.rego"
        policy.write_text(AUTHZ_POLICY.format(admin=self.admin_token, publisher=self.publisher_token))
        self.server.start(
            [
                str(self.binary),
                *("run", "--server", "--addr", f"127.0.0.1:{self.port}"),
                *("--authentication=token", "--authorization=basic", "--log-level=error"),
                str(policy),
            ],
            answers=self._healthy,
            deadline=START_DEADLINE,
        )

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/health", headers=self._admin, timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        self.server.stop(timeout=10)

    def restart(self) -> None:
        """Stop and start on the same port: OPA comes back without the data published to it."""
        self.stop()
        self.start()

    def log(self) -> str:
        return self.server.log()

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
