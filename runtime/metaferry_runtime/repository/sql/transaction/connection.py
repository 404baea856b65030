"""The transaction's connection, guarded so that `abort()` may come from another thread.

The transaction is the only user of its connection, and every use (statements, COMMIT, ROLLBACK, close)
holds the guard, so `abort()` can come from another thread: the runtime abandons a refresh that hangs past
its timeout, and the transaction's locks must not outlive that. Abort interrupts a statement in progress,
takes the guard, discards the connection (the database rolls back and releases the locks) and makes every
later use raise TransactionAborted.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, CursorResult, RootTransaction

from metaferry_runtime.repository.errors import (
    DuplicateQualifiedName,
    RepositoryError,
    RepositoryUnavailable,
    StaleVersion,
    TransactionAborted,
)
from metaferry_runtime.repository.sql import engines

# How long abort() waits for an interrupted statement to return before leaving the release to its thread.
ABORT_WAIT_SECONDS = 1.0
ABORTED = "this transaction was aborted (its refresh was abandoned); nothing of it is written"


@contextmanager
def database_errors() -> Iterator[None]:
    """Translate driver failures into the repository's errors."""
    try:
        yield
    except (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError) as error:
        reason = getattr(error, "orig", None) or error
        raise RepositoryUnavailable(f"the repository database cannot be reached: {reason}") from error
    except sa_exc.IntegrityError as error:
        if "qualified_name" in str(error.orig):
            raise DuplicateQualifiedName(f"an element with this qualified name already exists: {error.orig}") from error
        raise RepositoryError(f"the database refused a write: {error.orig}") from error


class GuardedConnection:
    """One transaction's connection: every use holds the guard, and `abort()` may be called from any thread."""

    def __init__(self, connection: Connection, begun: RootTransaction) -> None:
        self._conn = connection
        self._begun = begun
        self._driver_connection = connection.connection.dbapi_connection  # what abort() interrupts
        self._guard = threading.RLock()  # held by every use of the connection, and by abort()
        self.aborted = False
        self._released = False
        self.postgresql = connection.dialect.name == "postgresql"

    @property
    def raw(self) -> Connection:
        """The connection itself, for code that takes a Connection (bulk.time_writer); not for statements."""
        return self._conn

    @contextmanager
    def use(self) -> Iterator[Connection]:
        """The connection for one use, held against `abort()` meanwhile; TransactionAborted once aborted."""
        with self._guard:
            try:
                if self.aborted:
                    raise TransactionAborted(ABORTED)
                try:
                    with database_errors():
                        yield self._conn
                except Exception as error:  # the driver's own errors too: COPY bypasses SQLAlchemy
                    if self.aborted:  # the statement was interrupted by abort()
                        raise TransactionAborted(ABORTED) from error
                    raise
            finally:
                if self.aborted:  # abort() could not take the guard in time: release it here
                    self._release(discard=True)

    def execute(self, statement: Any, parameters: Any = None) -> CursorResult[Any]:
        with self.use() as connection:
            return connection.execute(statement, parameters)

    def check_rowcount(self, result: CursorResult[Any], expected: int, what: str) -> None:
        """StaleVersion unless a version-checked executemany wrote every row (where the driver can tell)."""
        if self._conn.dialect.supports_sane_multi_rowcount and result.rowcount not in (-1, expected):
            raise StaleVersion(
                f"{expected - result.rowcount} of the {what} written changed in another transaction meanwhile;"
                " nothing was written"
            )

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold the guard across several uses (commit: the last writes and COMMIT as one)."""
        with self._guard:
            yield

    def commit(self) -> None:
        with self.use():
            self._begun.commit()

    def rollback(self) -> None:
        """Nothing to do once aborted: `close` discards the connection, which rolls back."""
        with self._guard:
            if not self.aborted and not self._released:
                with database_errors():
                    self._begun.rollback()

    def close(self) -> None:
        """Back to the pool; discarded if aborted."""
        with self._guard:
            self._release(discard=self.aborted)

    def abort(self) -> None:
        self.aborted = True
        if not self._guard.acquire(blocking=False):
            engines.interrupt(self._driver_connection, timeout=ABORT_WAIT_SECONDS)
            if not self._guard.acquire(timeout=ABORT_WAIT_SECONDS):
                return  # the statement still runs; `use` releases the connection when it returns
        try:
            self._release(discard=True)
        finally:
            self._guard.release()

    def _release(self, *, discard: bool) -> None:
        """Give the connection back once: discarded (closed, which rolls back and frees its locks) or pooled."""
        if self._released:
            return
        self._released = True
        with contextlib.suppress(Exception):  # a broken connection may fail to close; it is gone either way
            if discard:
                self._conn.invalidate()
            self._conn.close()
