"""The suite's wait helper: the first truthy value comes back; a deadline that passes fails naming what."""

from __future__ import annotations

import asyncio

import pytest

from tests.waiting import wait_for, wait_for_async


def test_wait_for_returns_the_first_truthy_value_of_the_condition() -> None:
    values = iter([None, 0, "", "found", "later"])
    assert wait_for(lambda: next(values), interval=0) == "found"


def test_wait_for_fails_naming_what_it_waited_for_and_the_last_value() -> None:
    with pytest.raises(TimeoutError, match=r"the answer did not happen within 0.05s \(last value: 0\)"):
        wait_for(lambda: 0, timeout=0.05, interval=0.01, what="the answer")


async def test_wait_for_async_lets_the_event_loop_run_between_checks() -> None:
    done: list[str] = []

    async def later() -> None:
        await asyncio.sleep(0)
        done.append("ran")

    task = asyncio.create_task(later())
    assert await wait_for_async(lambda: done, what="the task to run") == ["ran"]  # a blocking wait never sees it
    await task
    with pytest.raises(TimeoutError, match="nothing did not happen"):
        await wait_for_async(lambda: None, timeout=0.05, what="nothing")
