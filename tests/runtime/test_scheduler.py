"""The refresh scheduler's rules, on a hand-driven clock: no threads, no event loop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

import pytest

from metaferry_runtime.lifecycle.scheduler import RefreshScheduler

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def wall(self) -> datetime:
        return EPOCH + timedelta(seconds=self.now)


def scheduler(clock: Clock, *, remembered: int = 256) -> RefreshScheduler:
    ids = count(1)
    return RefreshScheduler(
        clock=clock, wall_clock=clock.wall, remembered_request_ids=remembered, new_id=lambda: f"r{next(ids)}"
    )


def test_requests_while_nothing_runs_coalesce_into_the_one_pending_refresh() -> None:
    refreshes = scheduler(Clock())
    first = refreshes.request("a", trigger="request")
    second = refreshes.request("b")
    assert (first.refresh_id, first.queued) == ("r1", False)
    assert (second.refresh_id, second.queued) == ("r1", False)
    started = refreshes.start()
    assert started.refresh.refresh_id == "r1" and started.refresh.trigger == "request"
    assert refreshes.pending is None and refreshes.running == started.refresh


def test_requests_during_a_refresh_coalesce_into_exactly_one_more() -> None:
    refreshes = scheduler(Clock())
    refreshes.request(trigger="start")
    refreshes.start()
    during = [refreshes.request(str(n)) for n in range(5)]
    assert {accepted.refresh_id for accepted in during} == {"r2"}
    assert all(accepted.queued for accepted in during)
    refreshes.finished()
    assert refreshes.start().refresh.refresh_id == "r2"
    refreshes.finished()
    assert refreshes.pending is None


def test_a_request_id_is_answered_with_its_refresh_and_whether_it_still_waits() -> None:
    refreshes = scheduler(Clock())
    assert refreshes.recall("a") is None
    refreshes.request("a")
    recalled = refreshes.recall("a")
    assert recalled is not None and (recalled.refresh_id, recalled.queued) == ("r1", True)
    refreshes.start()
    recalled = refreshes.recall("a")
    assert recalled is not None and (recalled.refresh_id, recalled.queued) == ("r1", False)
    assert refreshes.recall(None) is None


def test_only_the_most_recent_request_ids_are_remembered() -> None:
    refreshes = scheduler(Clock(), remembered=2)
    for request_id in ("a", "b", "c"):
        refreshes.request(request_id)
    assert refreshes.recall("a") is None
    assert refreshes.recall("b") is not None and refreshes.recall("c") is not None


def test_an_archive_confirmation_is_told_apart_and_taken_once_by_the_next_refresh_to_start() -> None:
    refreshes = scheduler(Clock())
    refreshes.request("a")
    refreshes.start()  # running without the confirmation: it keeps its own rules
    confirmed = refreshes.request("a", confirm_archive=True)
    assert confirmed.archive_confirmed and confirmed.queued and confirmed.refresh_id == "r2"
    recalled = refreshes.recall("a")
    assert recalled is not None and recalled.refresh_id == "r1" and not recalled.archive_confirmed
    refreshes.finished()
    assert refreshes.start().archive_confirmed
    refreshes.finished()
    refreshes.request()
    assert not refreshes.start().archive_confirmed


def test_the_interval_runs_from_the_end_of_the_previous_refresh_and_fires_once() -> None:
    clock = Clock()
    refreshes = scheduler(clock)
    refreshes.schedule_after(timedelta(seconds=30))
    assert refreshes.next_due == 130.0 and refreshes.next_due_wall == clock.wall() + timedelta(seconds=30)
    clock.now = 129.9
    assert not refreshes.interval_due()
    clock.now = 130.0
    assert refreshes.interval_due()
    assert refreshes.next_due is None and refreshes.next_due_wall is None
    assert not refreshes.interval_due()


def test_no_interval_means_refreshes_only_on_request() -> None:
    clock = Clock()
    refreshes = scheduler(clock)
    refreshes.schedule_after(None)
    clock.now = 1e9
    assert not refreshes.interval_due() and refreshes.next_due_wall is None


def test_a_restart_drops_the_queued_refresh_and_the_timer_but_remembers_request_ids() -> None:
    refreshes = scheduler(Clock())
    refreshes.schedule_after(timedelta(seconds=5))
    refreshes.request("a")
    refreshes.reset()
    assert refreshes.pending is None and refreshes.next_due is None and refreshes.next_due_wall is None
    recalled = refreshes.recall("a")
    assert recalled is not None and not recalled.queued


def test_starting_with_nothing_pending_is_a_bug_said_plainly() -> None:
    with pytest.raises(LookupError, match="no refresh is pending"):
        scheduler(Clock()).start()
