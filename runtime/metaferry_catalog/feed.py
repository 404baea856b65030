"""The change feed: the repository's out topic as Server-Sent Events, resumable by `Last-Event-ID`.

Each event's `id` is its repository sequence, so a client that reconnects with the last id it saw (as
browsers' EventSource do on their own) misses nothing and sees nothing twice. Events are read from the
repository in bounded batches as the client takes them; a commit only wakes the stream, so a slow client
costs no memory.
"""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web

from metaferry_catalog.params import BadRequest
from metaferry_runtime.repository import ChangeEvent, MetadataRepository

BATCH = 200
#: A comment line this often keeps proxies from closing a quiet stream.
KEEPALIVE_SECONDS = 15.0


def resume_position(last_event_id: str | None, after: int | None) -> int | None:
    """Where to start: `Last-Event-ID` (a reconnect) wins over `after`; None means from now."""
    if last_event_id is not None:
        if not last_event_id.strip().isdigit():
            raise BadRequest("Last-Event-ID: not an event id of this feed (a sequence number)")
        return int(last_event_id)
    return after


def _batch(repository: MetadataRepository, after: int) -> list[ChangeEvent]:
    return list(repository.events_since(after, limit=BATCH))


def _frame(event: ChangeEvent) -> bytes:
    return f"id: {event.sequence}\nevent: {event.kind.value}\ndata: {event.model_dump_json()}\n\n".encode()


async def stream(request: web.Request, repository: MetadataRepository, position: int | None) -> web.StreamResponse:
    loop = asyncio.get_running_loop()
    wake = asyncio.Event()

    def on_commit(_: ChangeEvent) -> None:  # on a repository thread
        with contextlib.suppress(RuntimeError):  # the loop closed while the stream ended
            loop.call_soon_threadsafe(wake.set)

    if position is None:
        position = await asyncio.to_thread(repository.head_sequence)
    unregister = await asyncio.to_thread(repository.register_listener, on_commit)
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )
    try:
        await response.prepare(request)
        await response.write(b": metaferry change feed\n\n")
        while True:
            wake.clear()  # before reading: a commit after the read sets it again
            batch = await asyncio.to_thread(_batch, repository, position)
            for event in batch:
                await response.write(_frame(event))
                position = event.sequence
            if len(batch) == BATCH:
                continue
            try:
                await asyncio.wait_for(wake.wait(), KEEPALIVE_SECONDS)
            except TimeoutError:
                await response.write(b": keepalive\n\n")
    finally:
        await asyncio.to_thread(unregister)
