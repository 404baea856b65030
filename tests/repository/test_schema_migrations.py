"""`metaferry-runtime migrate`: schema migrations run once, under PostgreSQL's advisory lock, never two at a
time; the schema records its version; a runtime older than the schema refuses it, naming both versions.

Real processes against the test PostgreSQL: the test holds the schema lock itself, starts two migrators,
sees both waiting for it in pg_locks, then lets them go.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from metaferry_runtime.repository.sql.schema import LATEST_VERSION, SCHEMA_LOCK_KEY
from tests.cluster.waiting import wait_for

pytestmark = pytest.mark.postgres

MIGRATE = [str(Path(sys.executable).parent / "metaferry-runtime"), "migrate", "--repository"]


def _waiting_for_the_lock(conn: psycopg.Connection[tuple[int]]) -> int:
    row = conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").fetchone()
    return int(row[0]) if row else 0


def test_two_concurrent_migrators_take_turns_and_apply_each_version_once(postgres_database: str) -> None:
    with psycopg.connect(postgres_database, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK_KEY,))
        migrators = [
            subprocess.Popen([*MIGRATE, postgres_database], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        try:
            wait_for(lambda: _waiting_for_the_lock(holder) == 2, timeout=60, what="both migrators at the lock")
            tables = holder.execute("SELECT to_regclass('schema_version') IS NULL").fetchone()
            assert tables == (True,)  # neither has created anything while the other (here: the test) migrates
        finally:
            holder.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK_KEY,))
        outputs = [process.communicate(timeout=120) for process in migrators]
        assert [process.returncode for process in migrators] == [0, 0], outputs
        for stdout, _ in outputs:
            assert f"is at schema version {LATEST_VERSION}" in stdout
        versions = [row[0] for row in holder.execute("SELECT version FROM schema_version ORDER BY version")]
        assert versions == list(range(1, LATEST_VERSION + 1))  # each applied once


def test_a_schema_newer_than_the_runtime_is_refused_with_both_versions(postgres_database: str) -> None:
    subprocess.run([*MIGRATE, postgres_database], check=True, capture_output=True, timeout=120)
    with psycopg.connect(postgres_database, autocommit=True) as conn:
        conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (LATEST_VERSION + 1,))
    refused = subprocess.run([*MIGRATE, postgres_database], capture_output=True, text=True, timeout=120)
    assert refused.returncode == 3
    assert f"the database schema is at version {LATEST_VERSION + 1}, newer than this metaferry knows" in refused.stderr
    assert f"({LATEST_VERSION}); upgrade metaferry" in refused.stderr
