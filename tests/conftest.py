"""Shared pytest configuration: the real services (Kubernetes control plane, PostgreSQL) come from plugins."""

pytest_plugins = ["tests.cluster.fixtures", "tests.postgres"]
