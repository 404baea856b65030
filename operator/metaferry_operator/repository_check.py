"""Whether the shared repository answers, asked once for every connector the operator serves.

The operator waits for the repository before it starts a connector's pod (a runtime that cannot open it
exits at start and would only crash-loop), and reports ``RepositoryUnavailable`` while it is down. One
login and ``SELECT 1`` says more than a TCP connect (a wrong password fails here too); the verdict is kept
for ``ttl`` seconds, so a thousand connectors cost one check per interval. Messages name the host and
port, never the password.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import psycopg
from sqlalchemy.engine import make_url


@dataclass(frozen=True)
class Verdict:
    available: bool
    message: str = ""


class RepositoryCheck:
    def __init__(self, url: str, *, ttl: float = 5.0, timeout: float = 5.0) -> None:
        parsed = make_url(url)
        self._conninfo = {
            "host": parsed.host or "",
            "port": parsed.port or 5432,
            "user": parsed.username or "",
            "password": parsed.password or "",
            "dbname": parsed.database or "",
            "connect_timeout": max(1, int(timeout)),
        }
        self.where = f"{parsed.host}:{parsed.port or 5432}/{parsed.database}"
        self.ttl = ttl
        self._cached: tuple[Verdict, float] | None = None
        self._lock = asyncio.Lock()

    @staticmethod
    def for_url(url: str) -> RepositoryCheck | None:
        """A check for a PostgreSQL URL; None for per-pod SQLite (nothing shared to wait for)."""
        return RepositoryCheck(url) if url.startswith(("postgresql", "postgres:")) else None

    def _probe(self) -> Verdict:
        try:
            with psycopg.connect(**self._conninfo) as conn:  # type: ignore[arg-type]
                conn.execute("SELECT 1")
        except psycopg.Error as error:
            detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            return Verdict(False, f"the repository {self.where} does not answer: {detail}")
        return Verdict(True)

    async def verdict(self) -> Verdict:
        async with self._lock:
            now = time.monotonic()
            if self._cached is not None and self._cached[1] > now:
                return self._cached[0]
            found = await asyncio.to_thread(self._probe)
            self._cached = (found, time.monotonic() + self.ttl)
            return found
