"""The long-running runtime process: HTTP API first (so probes answer at once), then the connector, until SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass

from aiohttp import web

from metaferry_runtime.api import RuntimeApi
from metaferry_runtime.audit import RuntimeMessages
from metaferry_runtime.lifecycle import ConnectorRuntime


@dataclass(frozen=True)
class ListenAddress:
    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> ListenAddress:
        host, separator, port = text.rpartition(":")
        if not separator or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError(f"listen address {text!r} must be HOST:PORT, e.g. 0.0.0.0:8080")
        return cls(host.strip("[]") or "0.0.0.0", int(port))

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


async def serve(runtime: ConnectorRuntime, *, listen: ListenAddress, token: str | None) -> None:
    """Serve the API and run the connector until SIGTERM/SIGINT, in whatever phase it is; then stop within the
    grace period."""
    api = RuntimeApi(runtime, token=token)
    runner = web.AppRunner(api.app, access_log=None, handle_signals=False, shutdown_timeout=2.0)
    await runner.setup()
    site = web.TCPSite(runner, listen.host, listen.port)
    await site.start()
    runtime.audit_log.log_message("serve", RuntimeMessages.API_LISTENING, address=str(listen))

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        # Not awaited alone: SIGTERM must be heard while initialize() or start() runs. The supervisor ends
        # first only if the runtime itself failed; shutdown then raises that failure.
        supervisor = runtime.launch()
        stopped = asyncio.ensure_future(stop.wait())
        await asyncio.wait({supervisor, stopped}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
    finally:
        await runtime.shutdown(reason="termination signal")
        await runner.cleanup()
