"""Reaching the PostgreSQL server: connection parameters from the Connection, and errors users can act on.

The password comes only from the Secret (key `password`, or a whole libpq URL under `url`); an endpoint
that carries one is refused, so it never sits in a manifest, the resource's status or `kubectl get -o yaml`.

libpq reports every failure to connect as OperationalError without an SQLSTATE, so the cause is read from
its message: the server answered and refused us (a FATAL: wrong password, missing database or role, no
pg_hba entry) means the configuration is wrong and a retry will not help; no answer at all (refused,
timed out, unknown host) is a failure the runtime retries with backoff. Only the message is kept: the
exception's `pgconn` carries the connection parameters, password included.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import IsolationLevel
from psycopg.conninfo import conninfo_to_dict

from metaferry_runtime.connectors.postgres_schema.settings import PostgresSchemaSettings
from metaferry_runtime.sdk import Connection, ConnectorConfigurationError, ConnectorError

APPLICATION_NAME = "metaferry postgres-schema"
DEFAULT_PORT = 5432


@dataclass(frozen=True)
class ServerAddress:
    """Who and where, without the password: for messages, audit records and qualified names."""

    user: str
    host: str
    port: int
    database: str

    def __str__(self) -> str:
        return f"{self.user}@{self.host}:{self.port}/{self.database}"

    @property
    def authority(self) -> str:
        return f"{self.host}:{self.port}"


def connection_parameters(
    connection: Connection, settings: PostgresSchemaSettings
) -> tuple[dict[str, Any], ServerAddress]:
    """libpq parameters (password, timeouts and a read-only session included) and the address they reach."""
    url = connection.secret("url")
    endpoint = connection.endpoint
    if url is None and not endpoint:
        raise ConnectorConfigurationError(
            "postgres-schema needs connection.endpoint (postgresql://user@host:port/dbname) or a Secret key url"
        )
    source = "the Secret's url" if url is not None else "connection.endpoint"
    try:
        parameters: dict[str, Any] = conninfo_to_dict(url if url is not None else str(endpoint))
    except psycopg.ProgrammingError:
        # No cause: psycopg's message quotes the string, and the Secret's URL holds the password.
        raise ConnectorConfigurationError(
            f"{source} is not a libpq URL (postgresql://user@host:port/dbname) or key=value string"
        ) from None
    if url is None and "password" in parameters:
        raise ConnectorConfigurationError(
            "connection.endpoint holds a password: remove it and put it in the Secret named by secretRef (key password)"
        )
    password = connection.secret("password")
    if password is not None:
        parameters["password"] = password
    parameters["connect_timeout"] = settings.connect_timeout_seconds
    parameters.setdefault("application_name", APPLICATION_NAME)
    # Every statement is bounded, and the session cannot write even if a query tried to.
    session = f"-c statement_timeout={settings.statement_timeout_seconds * 1000} -c default_transaction_read_only=on"
    parameters["options"] = f"{parameters.get('options', '')} {session}".strip()
    host = str(parameters.get("host") or parameters.get("hostaddr") or "localhost")
    address = ServerAddress(
        user=str(parameters.get("user") or "(default user)"),
        host=host,
        port=int(parameters.get("port") or DEFAULT_PORT),
        database=str(parameters.get("dbname") or parameters.get("user") or ""),
    )
    return parameters, address


def connect(parameters: dict[str, Any], address: ServerAddress) -> psycopg.Connection[Any]:
    """An autocommit connection whose transactions are READ ONLY REPEATABLE READ snapshots."""
    try:
        server = psycopg.connect(**parameters, autocommit=True)
    except psycopg.OperationalError as error:
        raise connect_error(error, address) from error
    server.isolation_level = IsolationLevel.REPEATABLE_READ
    server.read_only = True
    return server


def connect_error(error: psycopg.OperationalError, address: ServerAddress) -> ConnectorError:
    """The error to raise for a failed connection: configuration (the server refused) or reachability."""
    message = _server_message(error)
    lowered = message.lower()
    if "password authentication failed" in lowered or "no password supplied" in lowered:
        return ConnectorConfigurationError(
            f"the server refused the password of {address.user} at {address.authority}: check the Secret's"
            f" password ({message})"
        )
    if "database" in lowered and "does not exist" in lowered:
        return ConnectorConfigurationError(
            f"the database {address.database} does not exist at {address.authority}: check connection.endpoint"
        )
    if "fatal:" in lowered:
        return ConnectorConfigurationError(f"the server at {address.authority} refused {address}: {message}")
    return ConnectorError(f"cannot reach the PostgreSQL server at {address.authority}: {message}")


def _server_message(error: psycopg.Error) -> str:
    """libpq's message on one line, without psycopg's 'connection failed:' prefix."""
    text = " ".join(str(error).split())
    return text.removeprefix("connection failed: ")
