"""The operator waits for the shared repository before it starts (or rolls) a connector's pod, says
`RepositoryUnavailable` in the status while the repository is down, and clears it once it answers again.

A real PostgreSQL server of the test's own is stopped and started again; the API server is the reconciler
tests' in-memory fake (what is asserted is which children the pass applies, and the status it writes).
"""

from __future__ import annotations

import json
import socket
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from metaferry_operator import kube
from metaferry_operator.cache import WorldCache
from metaferry_operator.config import OperatorConfig
from metaferry_operator.reconciler import ConnectorReconciler, Dependencies, ReconcileFailed
from metaferry_operator.repository_check import RepositoryCheck
from metaferry_operator.runtime_client import RuntimeClient
from tests.operator.builders import connector_body
from tests.operator.test_reconciler import FakeKube
from tests.postgres_server import PostgresServer, start_postgres

PASSWORD = "never-in-status"  # trust authentication ignores it; it must still appear nowhere


def _with_password(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{parts.username}:{PASSWORD}@{parts.hostname}:{parts.port}"))


def _reconciler(fake: FakeKube, check: RepositoryCheck | None) -> ConnectorReconciler:
    deps = Dependencies(
        config=OperatorConfig(),
        kube=cast(kube.KubeClient, fake),
        runtime_client=lambda: RuntimeClient(httpx.AsyncClient()),
        cache=WorldCache(),
        repository=check,
    )
    return ConnectorReconciler(key=("data", "files"), deps=deps)


def _ready(fake: FakeKube) -> dict[str, Any]:
    conditions = fake.connector["status"]["conditions"]
    return dict(next(c for c in conditions if c["type"] == "Ready"))


@pytest.mark.postgres
async def test_no_pod_starts_while_the_repository_is_down_and_the_status_says_so_until_it_is_back(
    private_postgres: PostgresServer,
) -> None:
    check = RepositoryCheck(_with_password(private_postgres.url), ttl=0)
    fake = FakeKube(connector_body())
    reconciler = _reconciler(fake, check)
    reconciler.observe(connector_body())
    private_postgres.stop()

    with pytest.raises(ReconcileFailed, match="does not answer"):  # retried with backoff by the supervisor
        await reconciler.reconcile()
    assert fake.applies == []  # no Deployment: no pod that would crash-loop on a missing repository
    ready = _ready(fake)
    assert (ready["status"], ready["reason"]) == ("False", "RepositoryUnavailable")
    port = urlsplit(private_postgres.url).port
    assert f":{port}/" in ready["message"]
    assert fake.connector["status"]["phase"] == "Pending"
    assert PASSWORD not in json.dumps(fake.status_patches) + json.dumps(fake.events)

    restarted = start_postgres(private_postgres.directory)
    assert urlsplit(restarted.url).port == port
    await reconciler.reconcile()
    assert fake.applies == ["ConfigMap", "Secret", "Deployment", "Service", "NetworkPolicy"]
    assert _ready(fake)["reason"] != "RepositoryUnavailable"


async def test_a_repository_that_is_not_listening_is_unavailable_and_sqlite_needs_no_check() -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    verdict = await RepositoryCheck(f"postgresql://u:{PASSWORD}@127.0.0.1:{port}/db", ttl=0).verdict()
    assert not verdict.available
    assert f"127.0.0.1:{port}/db does not answer" in verdict.message and PASSWORD not in verdict.message
    assert RepositoryCheck.for_url("sqlite:////var/lib/metaferry/metaferry.db") is None
    assert RepositoryCheck.for_url("postgresql+psycopg://u@h:5432/d") is not None
