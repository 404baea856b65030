"""The receiver's HTTP endpoint: OpenLineage's HTTP transport path, served by aiohttp on a thread of its own.

`POST /api/v1/lineage` takes one event (the path the OpenLineage clients and Marquez use) and answers 201;
`POST /api/v1/lineage/batch` takes a JSON array and answers 200 with the count. Either is validated whole
first (400 names the wrong field; nothing of a refused request is kept), then appended to the journal and
synced, and only then acknowledged: an acknowledged event is never lost, and a client that retries after a
lost answer sends an event that applying twice leaves unchanged. A request needs `Authorization: Bearer
<token>` (401 otherwise); a body over `max_body_bytes` gets 413 (aiohttp's `client_max_size`).

The server runs its own event loop on its own thread, started by `start()` and stopped by `stop()`, which
returns once the socket is closed and the thread has ended.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from aiohttp import web

from metaferry_runtime.connectors.openlineage_receiver.events import InvalidEvent, parse_event, parse_events
from metaferry_runtime.connectors.openlineage_receiver.journal import Journal

LINEAGE_PATH = "/api/v1/lineage"
BATCH_PATH = "/api/v1/lineage/batch"
#: How long start() waits for the socket to be bound.
START_TIMEOUT_SECONDS = 10.0

log = logging.getLogger(__name__)


class ReceiverServer:
    def __init__(
        self,
        *,
        journal: Journal,
        host: str,
        port: int,
        token: str,
        max_body_bytes: int,
        on_refused: Callable[[str], None] | None = None,
    ) -> None:
        self.journal = journal
        self.host = host
        self.port = port
        self._bearer = f"Bearer {token}".encode()
        self._max_body_bytes = max_body_bytes
        self._on_refused = on_refused
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None
        self.accepted = 0

    def start(self) -> None:
        """Bind and serve; raises OSError when the port cannot be bound."""
        self._thread = threading.Thread(target=self._serve, name="openlineage-receiver", daemon=True)
        self._thread.start()
        if not self._started.wait(START_TIMEOUT_SECONDS):
            raise TimeoutError(f"the lineage endpoint did not start on {self.host}:{self.port}")
        if self._error is not None:
            self._thread.join()
            raise self._error

    def stop(self) -> None:
        loop, stopping, thread = self._loop, self._stopping, self._thread
        if loop is not None and stopping is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stopping.set)
        if thread is not None:
            thread.join()
        self._thread = None

    # --- the server thread ------------------------------------------------------------------------------------
    def _serve(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as error:  # reported to start()'s caller
            self._error = error
            self._started.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        app = web.Application(client_max_size=self._max_body_bytes)
        app.router.add_post(LINEAGE_PATH, self._one)
        app.router.add_post(BATCH_PATH, self._batch)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        self.journal.open()
        try:
            site = web.TCPSite(runner, self.host, self.port, reuse_address=True)
            await site.start()
            self._started.set()
            await self._stopping.wait()
        finally:
            await runner.cleanup()
            self.journal.close()

    async def _one(self, request: web.Request) -> web.Response:
        refused = self._unauthorized(request)
        if refused is not None:
            return refused
        document = await self._json(request)
        if isinstance(document, web.Response):
            return document
        try:
            parse_event(document)
        except InvalidEvent as error:
            return self._invalid(error)
        await self.journal.append([_line(document)])
        self.accepted += 1
        return web.Response(status=201)

    async def _batch(self, request: web.Request) -> web.Response:
        refused = self._unauthorized(request)
        if refused is not None:
            return refused
        documents = await self._json(request)
        if isinstance(documents, web.Response):
            return documents
        try:
            parse_events(documents)
        except InvalidEvent as error:
            return self._invalid(error)
        assert isinstance(documents, list)
        if documents:
            await self.journal.append([_line(document) for document in documents])
        self.accepted += len(documents)
        return web.json_response({"accepted": len(documents)}, status=200)

    def _unauthorized(self, request: web.Request) -> web.Response | None:
        given = request.headers.get("Authorization", "").encode()
        if hmac.compare_digest(given, self._bearer):
            return None
        return web.json_response(
            {"error": "a bearer token is required (Authorization: Bearer <token>)"},
            status=401,
            headers={"WWW-Authenticate": 'Bearer realm="openlineage-receiver"'},
        )

    async def _json(self, request: web.Request) -> Any:
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return web.json_response(
                {"error": f"the body is larger than maxBodyBytes ({self._max_body_bytes})"}, status=413
            )
        try:
            return json.loads(body)
        except ValueError as error:
            return self._invalid(InvalidEvent("", f"not JSON: {error}"))

    def _invalid(self, error: InvalidEvent) -> web.Response:
        if self._on_refused is not None:
            self._on_refused(str(error))
        return web.json_response({"error": str(error), "field": error.field}, status=400)


def _line(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
