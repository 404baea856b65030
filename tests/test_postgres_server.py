"""The suite's PostgreSQL server: a restarted server keeps its port, so clients that know it reconnect."""

from __future__ import annotations

from urllib.parse import urlsplit

import psycopg
import pytest

from tests.postgres_server import PostgresServer, start_postgres


@pytest.mark.postgres
def test_a_server_stopped_under_open_connections_comes_back_on_the_same_port(
    private_postgres: PostgresServer,
) -> None:
    # Stopping closes the connection from the server's side; until this client closes its end, the
    # server's port still has a socket on it (FIN_WAIT2). A free-port check without SO_REUSEADDR took
    # that for "in use" and moved the restarted server to another port.
    port = urlsplit(private_postgres.url).port
    conn = psycopg.connect(private_postgres.url, autocommit=True, connect_timeout=10)
    conn.execute("SELECT 1")
    private_postgres.stop()
    try:
        restarted = start_postgres(private_postgres.directory)
    finally:
        conn.close()

    assert urlsplit(restarted.url).port == port
    with psycopg.connect(restarted.url, connect_timeout=10) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
