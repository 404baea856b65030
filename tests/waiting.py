"""Waiting for a condition with a deadline, instead of sleeping a guessed time: the suite's one helper.

`wait_for` polls from a thread that may block (the cluster, subprocesses, a second database connection);
`wait_for_async` polls from a coroutine, yielding to the event loop between checks so the code under test
runs meanwhile. Both return the condition's first truthy value and raise TimeoutError naming `what`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


def wait_for(
    condition: Callable[[], T | None],
    *,
    timeout: float = 30.0,
    interval: float = 0.1,
    what: str = "the condition",
) -> T:
    """Call ``condition`` until it returns something truthy and return that, or raise TimeoutError."""
    poll = _Poll(condition, timeout=timeout, what=what)
    while (found := poll()) is None:
        time.sleep(interval)
    return found


async def wait_for_async(
    condition: Callable[[], T | None],
    *,
    timeout: float = 10.0,  # noqa: ASYNC109 (a deadline that fails the test, not a cancellation)
    interval: float = 0.01,
    what: str = "the condition",
) -> T:
    """`wait_for` for a coroutine: the event loop runs between checks."""
    poll = _Poll(condition, timeout=timeout, what=what)
    while True:  # polling on purpose: the condition is any state of the code under test, not an event
        if (found := poll()) is not None:
            return found
        await asyncio.sleep(interval)


class _Poll(Generic[T]):
    """One check of the condition against the deadline, for both ways of waiting between checks."""

    def __init__(self, condition: Callable[[], T | None], *, timeout: float, what: str) -> None:
        self._condition, self._timeout, self._what = condition, timeout, what
        self._deadline = time.monotonic() + timeout

    def __call__(self) -> T | None:
        """The condition's value when truthy; None to check again; TimeoutError once the deadline passed."""
        value = self._condition()
        if value:
            return value
        if time.monotonic() >= self._deadline:
            raise TimeoutError(f"{self._what} did not happen within {self._timeout:g}s (last value: {value!r})")
        return None
