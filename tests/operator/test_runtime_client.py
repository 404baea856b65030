"""The runtime client against a real aiohttp server on loopback: payloads, token, errors, timeouts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web

from metaferry_operator.runtime_client import (
    RuntimeAddress,
    RuntimeClient,
    RuntimeRefused,
    RuntimeUnavailable,
)
from tests.operator.builders import report

TOKEN = "s3cret-token"


class FakeRuntime:
    def __init__(self) -> None:
        self.refresh_bodies: list[dict[str, object]] = []
        self.mode = "ok"
        self.release = asyncio.Event()
        app = web.Application()
        app.add_routes(
            [web.get("/status", self.status), web.post("/refresh", self.refresh), web.post("/restart", self.restart)]
        )
        self.runner = web.AppRunner(app)

    async def status(self, request: web.Request) -> web.Response:
        if self.mode == "hang":
            await self.release.wait()
        if self.mode == "error":
            return web.Response(status=500, text="internal error")
        return web.json_response(report(refresh_count=5).to_wire())

    async def refresh(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"detail": "wrong bearer token"}, status=401)
        if self.mode == "refuse":
            return web.json_response({"detail": "the connector's configuration is invalid"}, status=409)
        self.refresh_bodies.append(await request.json())
        return web.json_response({"refreshId": "r-1", "queued": False}, status=202)

    async def restart(self, request: web.Request) -> web.Response:
        return web.json_response({"restartCount": 2}, status=202)


@pytest.fixture
async def runtime() -> AsyncIterator[tuple[FakeRuntime, RuntimeAddress]]:
    fake = FakeRuntime()
    await fake.runner.setup()
    site = web.TCPSite(fake.runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield fake, RuntimeAddress("127.0.0.1", port)
    fake.release.set()
    await fake.runner.cleanup()


@pytest.fixture
async def client() -> AsyncIterator[RuntimeClient]:
    client = RuntimeClient.open(timeout=0.5)
    yield client
    await client.aclose()


async def test_status_is_parsed_into_the_report_model(runtime, client) -> None:
    _, address = runtime
    assert (await client.status(address)).refresh_count == 5


async def test_refresh_sends_the_token_and_the_request_id(runtime, client) -> None:
    fake, address = runtime
    accepted = await client.refresh(address, token=TOKEN, request_id="2030-01-01T00:00:00Z")
    assert accepted.refresh_id == "r-1"
    assert fake.refresh_bodies == [{"requestId": "2030-01-01T00:00:00Z"}]
    assert (await client.restart(address, token=TOKEN)).restart_count == 2


async def test_an_archive_confirmation_is_a_refresh_request_that_confirms_the_archive(runtime, client) -> None:
    fake, address = runtime
    await client.refresh(address, token=TOKEN, request_id="c1", confirm_archive=True)
    assert fake.refresh_bodies == [{"requestId": "c1", "confirmArchive": True}]


async def test_a_wrong_token_is_an_error_that_does_not_repeat_the_token(runtime, client) -> None:
    _, address = runtime
    with pytest.raises(RuntimeUnavailable, match="401") as caught:
        await client.refresh(address, token="other-token", request_id="x")
    assert "other-token" not in str(caught.value)


async def test_a_refusal_is_told_apart_from_an_outage(runtime, client) -> None:
    fake, address = runtime
    fake.mode = "refuse"
    with pytest.raises(RuntimeRefused, match="configuration is invalid"):
        await client.refresh(address, token=TOKEN, request_id="x")
    fake.mode = "error"
    with pytest.raises(RuntimeUnavailable, match="500"):
        await client.status(address)


async def test_a_hung_runtime_costs_one_timeout_and_does_not_delay_another(runtime, client) -> None:
    fake, address = runtime
    healthy = FakeRuntime()
    await healthy.runner.setup()
    site = web.TCPSite(healthy.runner, "127.0.0.1", 0)
    await site.start()
    healthy_address = RuntimeAddress("127.0.0.1", site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
    fake.mode = "hang"
    started = time.monotonic()
    hung = asyncio.create_task(client.status(address))
    assert (await client.status(healthy_address)).refresh_count == 5
    assert time.monotonic() - started < 0.4
    with pytest.raises(RuntimeUnavailable, match="timed out"):
        await hung
    assert time.monotonic() - started < 2
    await healthy.runner.cleanup()


async def test_nothing_listening_is_unavailable(client) -> None:
    with pytest.raises(RuntimeUnavailable) as caught:
        await client.status(RuntimeAddress("127.0.0.1", 9))
    assert isinstance(caught.value.__cause__, httpx.ConnectError), "the wrapper keeps the transport's error"


def test_ipv6_addresses_are_bracketed() -> None:
    assert RuntimeAddress("fd00::1").base_url == "http://[fd00::1]:8080"
