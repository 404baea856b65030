"""The operator's Kubernetes client against a real HTTP server on loopback: pooling, ordering and errors."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from kubernetes import client as k8s_client

from metaferry_operator.kube import ApiError, ApiUnreachable, Conflict, KubeClient, NotFound, is_not_found


class Server:
    """Answers GETs with the object's name after a short pause, recording arrival order and concurrency."""

    def __init__(self) -> None:
        self.in_flight = self.most = 0
        self.order: list[str] = []

    async def answer(self, request: web.Request) -> web.Response:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        self.order.append(request.path)
        await asyncio.sleep(0.01)
        self.in_flight -= 1
        name = request.path.rsplit("/", 1)[-1]
        if name == "missing":
            return web.json_response({"kind": "Status", "message": 'configmaps "missing" not found'}, status=404)
        if name == "taken":
            return web.json_response({"kind": "Status", "message": 'configmaps "taken" already exists'}, status=409)
        if name == "broken":
            return web.json_response({"kind": "Status", "message": "etcdserver: request timed out"}, status=500)
        return web.json_response({"metadata": {"name": name}})


@pytest.fixture
async def server() -> AsyncIterator[tuple[Server, str]]:
    server = Server()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", server.answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield server, f"http://127.0.0.1:{port}"
    await runner.cleanup()


def _client(host: str, **options: float) -> KubeClient:
    configuration = k8s_client.Configuration()
    configuration.host = host
    return KubeClient(configuration, **options)  # type: ignore[arg-type]


async def test_no_more_requests_are_in_flight_than_connections_and_waiting_ones_go_in_order(
    server: tuple[Server, str],
) -> None:
    recorder, host = server
    kube = _client(host, max_connections=3)
    paths = [f"/api/v1/namespaces/data/configmaps/c{index}" for index in range(20)]
    answers = await asyncio.gather(*(kube.get(path) for path in paths))
    await kube.aclose()
    assert [body["metadata"]["name"] for body in answers if body] == [path.rsplit("/", 1)[-1] for path in paths]
    assert recorder.most == 3
    # waiting requests are sent as connections free up, first come first served: none overtakes by a whole round
    assert all(abs(recorder.order.index(path) - index) < 3 for index, path in enumerate(paths))


async def test_answers_and_failures_come_back_as_the_client_s_own_errors(server: tuple[Server, str]) -> None:
    _, host = server
    kube = _client(host)
    assert await kube.get("/api/v1/namespaces/data/configmaps/missing") is None  # 404 on get: absent
    with pytest.raises(ApiError) as refused:
        await kube.merge_patch("/api/v1/namespaces/data/configmaps/broken", {"data": {}})
    assert (refused.value.status, refused.value.message) == (500, "etcdserver: request timed out")
    await kube.aclose()

    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        closed_port = unused.getsockname()[1]
    nobody = _client(f"http://127.0.0.1:{closed_port}")
    with pytest.raises(ApiUnreachable, match="GET /api/v1/namespaces failed: ClientConnectorError") as unreachable:
        await nobody.get("/api/v1/namespaces")
    assert isinstance(unreachable.value.__cause__, aiohttp.ClientConnectorError), "the wrapper keeps its cause"
    await nobody.aclose()


async def test_not_found_and_conflict_are_error_types_callers_catch_by_name(server: tuple[Server, str]) -> None:
    _, host = server
    kube = _client(host)
    with pytest.raises(NotFound) as missing:
        await kube.merge_patch("/api/v1/namespaces/data/configmaps/missing", {"data": {}})
    assert isinstance(missing.value, ApiError) and missing.value.status == 404
    assert is_not_found(missing.value)
    await kube.delete("/api/v1/namespaces/data/configmaps/missing")  # already gone is what a delete wants
    with pytest.raises(Conflict) as taken:
        await kube.create("/api/v1/namespaces/data/configmaps/taken", {"metadata": {"name": "taken"}})
    assert taken.value.status == 409 and not is_not_found(taken.value)
    with pytest.raises(ApiError) as broken:
        await kube.delete("/api/v1/namespaces/data/configmaps/broken")
    assert type(broken.value) is ApiError and not is_not_found(broken.value)
    await kube.aclose()


async def test_is_not_found_reads_the_official_clients_404_too(server: tuple[Server, str]) -> None:
    _, host = server
    configuration = k8s_client.Configuration()
    configuration.host = host
    with k8s_client.ApiClient(configuration) as api:
        core = k8s_client.CoreV1Api(api)
        with pytest.raises(k8s_client.ApiException) as missing:
            await asyncio.to_thread(core.read_namespaced_config_map, "missing", "data")
        with pytest.raises(k8s_client.ApiException) as broken:
            await asyncio.to_thread(core.read_namespaced_config_map, "broken", "data")
    assert is_not_found(missing.value)
    assert not is_not_found(broken.value)


async def test_a_call_that_gets_no_answer_in_time_is_unreachable(server: tuple[Server, str]) -> None:
    _, host = server
    kube = _client(host, timeout=0.001)
    with pytest.raises(ApiUnreachable, match="timed out"):
        await kube.get("/api/v1/namespaces/data/configmaps/slow")
    await kube.aclose()
