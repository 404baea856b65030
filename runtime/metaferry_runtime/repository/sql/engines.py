"""Engines for a repository URL: SQLite (WAL, busy timeout, foreign keys, BEGIN IMMEDIATE for writers)
or PostgreSQL through psycopg 3 (a pre-pinged pool, so connections recover after a database restart).

SQLite gets two engines on the same file: writers begin with BEGIN IMMEDIATE, taking the write lock up
front (a deferred transaction that reads and then writes fails at once, without waiting, when another
writer committed in between); readers (listeners, events_since) begin deferred and never wait on writers.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine, make_url

SQLITE_BUSY_TIMEOUT_MS = 30_000


def _json_dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def normalise_url(url: str) -> URL:
    """`sqlite:///x.db` or a bare path → SQLite; `postgresql://` or `postgres://` → psycopg 3."""
    if "://" not in url:
        return make_url(f"sqlite:///{Path(url).expanduser().absolute()}")
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgres":
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            raise ValueError("an in-memory SQLite repository cannot be shared by its connections; give a file path")
        return parsed.set(drivername="sqlite")
    raise ValueError(f"unsupported repository URL scheme {parsed.drivername!r}: use sqlite:/// or postgresql://")


def libpq_dsn(url: URL) -> str:
    """The URL as psycopg's own connect() takes it."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass(frozen=True)
class Engines:
    write: Engine
    read: Engine
    url: URL

    @property
    def is_postgresql(self) -> bool:
        return self.url.get_backend_name() == "postgresql"

    def dispose(self) -> None:
        self.write.dispose()
        if self.read is not self.write:
            self.read.dispose()


def _sqlite_engine(url: URL, *, begin: str) -> Engine:
    engine = create_engine(
        url,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        json_serializer=_json_dumps,
        pool_size=5,
        max_overflow=10,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (the driver's own is unreliable)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)

    return engine


def interrupt(driver_connection: Any, *, timeout: float) -> None:
    """End the statement a driver connection is running, from another thread: sqlite3's `interrupt()`, or a
    PostgreSQL cancel request (psycopg sends it on a connection of its own, within `timeout`)."""
    with contextlib.suppress(Exception):  # nothing running, or already closed: nothing to interrupt
        if hasattr(driver_connection, "cancel_safe"):
            driver_connection.cancel_safe(timeout=timeout)
        else:
            driver_connection.interrupt()


def make_engines(url: str, *, pool_size: int = 5, max_overflow: int = 10) -> Engines:
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        return Engines(
            write=_sqlite_engine(parsed, begin="BEGIN IMMEDIATE"),
            read=_sqlite_engine(parsed, begin="BEGIN"),
            url=parsed,
        )
    engine = create_engine(
        parsed,
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_recycle=3600,
        json_serializer=_json_dumps,
        connect_args={"connect_timeout": 10, "application_name": "metaferry", "options": "-c timezone=UTC"},
    )
    return Engines(write=engine, read=engine, url=parsed)
