"""Running connector code off the event loop, on threads the runtime can walk away from.

Connector methods are ordinary blocking Python. Each call runs on its own daemon thread so that a call that
hangs in I/O can be abandoned (after a timeout or at shutdown) without blocking the HTTP API or the
process exit, which is how Egeria's integration daemon could hang for ten minutes on a JDBC connect.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

CallRunner = Callable[[Callable[[], T]], "asyncio.Future[T]"]


def run_on_thread(function: Callable[[], T], *, name: str = "metaferry-connector-call") -> asyncio.Future[T]:
    """Start `function` on a new daemon thread; the returned future resolves on the running loop."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle_result(value: T) -> None:
        if not future.done():
            future.set_result(value)

    def settle_error(error: BaseException) -> None:
        if not future.done():
            future.set_exception(error)

    def target() -> None:
        try:
            value = function()
        except BaseException as error:  # delivered to the awaiting coroutine
            if not loop.is_closed():
                loop.call_soon_threadsafe(settle_error, error)
        else:
            if not loop.is_closed():
                loop.call_soon_threadsafe(settle_result, value)

    threading.Thread(target=target, name=name, daemon=True).start()
    return future


def run_inline(function: Callable[[], T]) -> asyncio.Future[T]:
    """Run on the loop's own thread; for tests that control asyncio time (looptime) with fast connectors."""
    future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
    try:
        future.set_result(function())
    except Exception as error:
        future.set_exception(error)
    return future
