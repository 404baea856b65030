"""Bulk inserts for the write-behind flush: the driver's fastest path, not SQLAlchemy's per-row processing.

A refresh inserts tens of thousands of elements, relationships and events; SQLAlchemy's bind processing
(JSON serialisation through the type system, datetime formatting) would cost more than the database's own
work. So rows arrive here already serialised: SQLite gets `executemany` of tuples, PostgreSQL gets `COPY`
(into the same transaction, on the same connection). Values: JSON columns as JSON text, times as
datetimes (formatted here for SQLite exactly as SQLAlchemy stores them).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import DateTime, Table
from sqlalchemy.engine import Connection


@lru_cache(maxsize=1024)
def _sqlite_time(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def insert_rows(connection: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
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
    times = [i for i, name in enumerate(columns) if isinstance(table.c[name].type, DateTime)]
    if times:
        converted = []
        for row in rows:
            values = list(row)
            for i in times:
                if values[i] is not None:
                    values[i] = _sqlite_time(values[i])
            converted.append(tuple(values))
        rows = converted
    placeholders = ", ".join("?" * len(columns))
    connection.exec_driver_sql(f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({placeholders})", list(rows))
