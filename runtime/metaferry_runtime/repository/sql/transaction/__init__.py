"""The SQL backend's transaction (see transaction.py for how its parts fit)."""

from metaferry_runtime.repository.sql.transaction.connection import database_errors
from metaferry_runtime.repository.sql.transaction.events import NOTIFY_CHANNEL
from metaferry_runtime.repository.sql.transaction.transaction import SqlTransaction

__all__ = ["NOTIFY_CHANNEL", "SqlTransaction", "database_errors"]
