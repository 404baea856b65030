"""Bulk inserts for the write-behind flush: the driver's fastest path, not SQLAlchemy's per-row processing.

A refresh inserts tens of thousands of elements, relationships and events; SQLAlchemy's bind processing
(JSON serialisation through the type system, datetime formatting) would cost more than the database's own
work. So rows arrive here already serialised: SQLite gets `executemany` of tuples, PostgreSQL gets `COPY`
(into the same transaction, on the same connection). Values: JSON columns as JSON text, times as
`time_writer` gives them (for SQLite, formatted exactly as SQLAlchemy stores them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Connection


@lru_cache(maxsize=1024)
def _sqlite_time(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def _sqlite_time_or_none(value: datetime | None) -> str | None:
    return None if value is None else _sqlite_time(value)


def _as_is(value: datetime | None) -> datetime | None:
    return value


def time_writer(connection: Connection) -> Callable[[datetime | None], Any]:
    """How the rows given to `insert_rows` carry a time: as a datetime for PostgreSQL's COPY, as the text
    SQLAlchemy would store for SQLite. Why the caller converts: it builds each row once anyway, and a
    second pass over every row here to convert cost as much as building them."""
    return _as_is if connection.dialect.name == "postgresql" else _sqlite_time_or_none


def insert_rows(connection: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Insert rows (in `columns` order; JSON as text, times as `time_writer` makes them) in one go."""
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        finally:
            cursor.close()
        return
    placeholders = ", ".join("?" * len(columns))
    connection.exec_driver_sql(f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({placeholders})", list(rows))
