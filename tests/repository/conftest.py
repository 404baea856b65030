"""Fixtures of the repository tests: a `repository` on each backend, and the PostgreSQL they need.

PostgreSQL comes from METAFERRY_TEST_POSTGRES_URL, else from scripts/start-postgres.sh (which installs and
starts a throw-away server). Without it the PostgreSQL tests are skipped on a developer machine but fail
in CI (CI=true): there, a missing database is a broken build, not a reason to test less. Every test gets
a database of its own, dropped afterwards.
"""

from __future__ import annotations

ACTOR = "team-a/files"
OTHER = "team-b/database"
