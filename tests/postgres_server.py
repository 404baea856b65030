"""A throw-away PostgreSQL server for tests (started by scripts/start-postgres.sh), and waiting with a deadline."""

from __future__ import annotations

import os
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

REPO_ROOT = Path(__file__).resolve().parents[1]
START_SCRIPT = REPO_ROOT / "scripts" / "start-postgres.sh"
STOP_SCRIPT = REPO_ROOT / "scripts" / "stop-postgres.sh"
LISTENER_PROCESS = REPO_ROOT / "tests" / "repository" / "listener_process.py"


@dataclass
class PostgresServer:
    url: str
    directory: Path

    @property
    def bindir(self) -> Path:
        return Path((self.directory / "bindir").read_text().strip())

    def _as_server_user(self, *command: str) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *command]
        return list(command)

    def restart(self) -> None:
        subprocess.run(
            self._as_server_user(
                str(self.bindir / "pg_ctl"),
                *("-D", str(self.directory / "data"), "-l", str(self.directory / "log")),
                *("-m", "fast", "-w", "restart"),
            ),
            check=True,
            capture_output=True,
            timeout=120,
        )

    def stop(self, *, purge: bool = False) -> None:
        env = {**os.environ, "METAFERRY_PG_DIR": str(self.directory)}
        subprocess.run(["bash", str(STOP_SCRIPT), *(["--purge"] if purge else [])], env=env, check=False, timeout=120)


def start_postgres(directory: Path | None = None) -> PostgresServer:
    """Run scripts/start-postgres.sh (idempotent) and return the server it reports."""
    env = dict(os.environ)
    if directory is not None:
        env["METAFERRY_PG_DIR"] = str(directory)
        env.pop("METAFERRY_PG_PORT", None)
    result = subprocess.run(
        ["bash", str(START_SCRIPT)], env=env, capture_output=True, text=True, timeout=900, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"start-postgres.sh failed ({result.returncode}): {result.stderr[-2000:]}")
    url = result.stdout.strip().splitlines()[-1]
    return PostgresServer(url=url, directory=Path(env.get("METAFERRY_PG_DIR", "/tmp/metaferry-pg")))


def private_postgres_directory() -> Path:
    """A directory the server's OS user can enter (pytest's tmp_path is private to root)."""
    directory = Path(tempfile.mkdtemp(prefix="metaferry-pg-"))
    directory.chmod(0o755)
    return directory


def with_database(url: str, database: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{database}"


def create_database(server_url: str) -> str:
    name = f"mf_test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(server_url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return with_database(server_url, name)


def drop_database(server_url: str, url: str) -> None:
    name = url.rpartition("/")[2]
    with psycopg.connect(server_url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
