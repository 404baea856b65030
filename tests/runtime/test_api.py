"""The runtime's HTTP API, served by aiohttp on loopback and called over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from metaferry_runtime.api import RuntimeApi
from metaferry_runtime.lifecycle import ConnectorRuntime
from metaferry_runtime.lifecycle.engine import RestartRefused
from metaferry_runtime.repository import MetadataRepository
from tests.runtime import sample_connectors as samples
from tests.runtime.conftest import make_resource
from tests.waiting import wait_for_async

TOKEN = "s3cret-token-for-tests"


@pytest.fixture
async def runtime(repository: MetadataRepository) -> AsyncIterator[ConnectorRuntime]:
    samples.RecordingConnector.reset()
    runtime = ConnectorRuntime(resource=make_resource("RecordingConnector"), repository=repository)
    await runtime.start()
    await wait_for_async(lambda: runtime.refresh_count == 1)
    yield runtime
    await runtime.shutdown()


@pytest.fixture
async def client(runtime: ConnectorRuntime) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(RuntimeApi(runtime, token=TOKEN).app)) as client:
        yield client


AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def test_health_and_readiness(client: TestClient) -> None:
    assert (await client.get("/healthz")).status == 200
    ready = await client.get("/readyz")
    assert ready.status == 200
    assert (await ready.json())["connectorStatus"] == "WAITING"


async def test_not_ready_while_the_configuration_is_broken(repository: MetadataRepository) -> None:
    runtime = ConnectorRuntime(resource=make_resource("BadConfigConnector"), repository=repository)
    await runtime.start()
    async with TestClient(TestServer(RuntimeApi(runtime, token=TOKEN).app)) as client:
        response = await client.get("/readyz")
        assert response.status == 503
        assert (await response.json())["connectorStatus"] == "CONFIG_FAILED"
        refused = await client.post("/refresh", headers=AUTH)
        assert refused.status == 409
        assert "configuration is invalid" in (await refused.json())["detail"]
    await runtime.shutdown()


async def test_status_returns_the_connector_report(client: TestClient) -> None:
    response = await client.get("/status")
    body = await response.json()
    assert response.status == 200
    assert body["connectorName"] == "sample"
    assert body["status"] == "WAITING"
    assert body["refreshCount"] == 1
    assert body["metadataSourceQualifiedName"] == "test/sample"
    assert {"lastStatusChange", "lastRefreshTime", "statistics", "restartCount", "failedRefreshCount"} <= set(body)


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}, {"Authorization": "Bearer"}],
)
@pytest.mark.parametrize("path", ["/refresh", "/restart"])
async def test_mutating_calls_without_the_right_token_get_401(
    client: TestClient, runtime: ConnectorRuntime, headers: dict[str, str], path: str
) -> None:
    response = await client.post(path, headers=headers)
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert runtime.refresh_count == 1 and runtime.restart_count == 0
    assert runtime.audit_log.records()[-1].message_id == "METAFERRY-RUNTIME-0019"


async def test_refresh_with_the_token_is_accepted_and_runs(client: TestClient, runtime: ConnectorRuntime) -> None:
    response = await client.post("/refresh", headers=AUTH, json={"requestId": "token-1"})
    assert response.status == 202
    body = await response.json()
    assert body["refreshId"]
    await wait_for_async(lambda: runtime.refresh_count == 2)
    again = await client.post("/refresh", headers=AUTH, json={"requestId": "token-1"})
    assert (await again.json())["refreshId"] == body["refreshId"]
    status = await (await client.get("/status")).json()
    assert status["refreshCount"] == 2, "the same request id is handled once"


async def test_refresh_rejects_a_malformed_body(client: TestClient) -> None:
    response = await client.post("/refresh", headers=AUTH, data=b'{"requestId": 12, "extra": 1}')
    assert response.status == 400
    assert response.content_type == "application/problem+json"


async def test_restart_with_the_token_restarts_the_connector(client: TestClient, runtime: ConnectorRuntime) -> None:
    response = await client.post("/restart", headers=AUTH)
    assert response.status == 202
    assert (await response.json())["restartCount"] == 1
    await wait_for_async(lambda: runtime.restart_count == 1 and runtime.refresh_count == 2)
    assert samples.RecordingConnector.calls.count("initialize") == 2


async def test_a_restart_requested_while_the_runtime_shuts_down_is_refused_as_a_restart(
    client: TestClient, runtime: ConnectorRuntime
) -> None:
    await runtime.shutdown()
    with pytest.raises(RestartRefused, match="shutting down"):
        runtime.request_restart()
    response = await client.post("/restart", headers=AUTH)
    assert response.status == 409
    assert "shutting down" in (await response.json())["detail"]
    assert runtime.restart_count == 0


async def test_without_a_configured_token_mutating_calls_are_refused(runtime: ConnectorRuntime) -> None:
    async with TestClient(TestServer(RuntimeApi(runtime, token=None).app)) as client:
        response = await client.post("/refresh", headers={"Authorization": "Bearer anything"})
        assert response.status == 401
        assert "no API token configured" in (await response.json())["detail"]


async def test_metrics_expose_refreshes_status_and_writes(client: TestClient) -> None:
    text = await (await client.get("/metrics")).text()
    assert 'metaferry_refreshes_total{result="succeeded"} 1.0' in text
    assert 'metaferry_connector_status{metaferry_connector_status="WAITING"} 1.0' in text
    assert "metaferry_refresh_duration_seconds_bucket" in text
    assert "metaferry_connector_restarts_total 0.0" in text
    assert 'metaferry_repository_writes_total{operation="created"}' in text
    assert "metaferry_last_refresh_timestamp_seconds" in text
    assert TOKEN not in text


async def test_audit_endpoint_returns_recent_records(client: TestClient) -> None:
    records = await (await client.get("/audit?limit=3")).json()
    assert len(records) == 3
    assert all(r["messageId"].startswith("METAFERRY-RUNTIME-") for r in records)


async def test_paths_the_connector_adds_are_served_beside_the_runtimes_own(repository: MetadataRepository) -> None:
    runtime = ConnectorRuntime(resource=make_resource("RoutingConnector"), repository=repository)
    await runtime.start()
    try:
        async with TestClient(TestServer(RuntimeApi(runtime, token=TOKEN).app)) as client:
            echoed = await client.get("/echo", params={"q": "orders"})
            assert echoed.status == 200
            assert await echoed.json() == {"method": "GET", "query": {"q": "orders"}}
            assert (await client.get("/guarded")).status == 401
            assert (await client.get("/guarded", headers=AUTH)).status == 200
            refused = await client.get("/refuse", params={"x": "this"})
            assert refused.status == 422
            assert (await refused.json())["detail"] == "cannot use this"
            failed = await client.get("/fail")
            assert failed.status == 500
            assert "the handler broke" in (await failed.json())["detail"]
            assert (await client.post("/echo")).status == 405
            assert (await client.get("/nowhere")).status == 404
            assert (await client.get("/status")).status == 200  # the runtime's own paths come first
    finally:
        await runtime.shutdown()


async def test_connector_paths_answer_503_while_no_connector_runs(repository: MetadataRepository) -> None:
    runtime = ConnectorRuntime(resource=make_resource("BadConfigConnector"), repository=repository)
    await runtime.start()
    try:
        async with TestClient(TestServer(RuntimeApi(runtime, token=TOKEN).app)) as client:
            response = await client.get("/search", params={"q": "x"})
            assert response.status == 503
            assert "CONFIG_FAILED" in (await response.json())["detail"]
    finally:
        await runtime.shutdown()
