"""Waiting for a condition with a deadline, instead of sleeping a guessed time: the suite's one helper.

`wait_for` polls from a thread that may block (the cluster, subprocesses, a second database connection);
`wait_for_async` polls from a coroutine, yielding to the event loop between checks so the code under test
runs meanwhile. Both return the condition's first truthy value and raise TimeoutError naming `what`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(
    condition: Callable[[], T | None],
    *,
    timeout: float = 30.0,
    interval: float = 0.1,
    what: str = "the condition",
) -> T:
    """Call ``condition`` until it returns something truthy and return that, or raise TimeoutError."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(interval)
    raise TimeoutError(_message(what, timeout, last))


async def wait_for_async(
    condition: Callable[[], T | None],
    *,
    timeout: float = 10.0,  # noqa: ASYNC109 (a deadline that fails the test, not a cancellation)
    interval: float = 0.01,
    what: str = "the condition",
) -> T:
    """`wait_for` for a coroutine: the event loop runs between checks."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        await asyncio.sleep(interval)
    raise TimeoutError(_message(what, timeout, last))


def _message(what: str, timeout: float, last: object) -> str:
    return f"{what} did not happen within {timeout:g}s (last value: {last!r})"
