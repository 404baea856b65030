"""The restart policy as the resource's `autoRestart` says, on a hand-driven clock: no threads, no event loop."""

from __future__ import annotations

from datetime import timedelta

from metaferry_runtime.lifecycle.restarts import AUTOMATIC_RESTART_REASON, RestartPolicy
from metaferry_runtime.resource.spec import AutoRestart


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def policy(clock: Clock, **fields: object) -> RestartPolicy:
    return RestartPolicy(AutoRestart.model_validate(fields), clock=clock)


def test_failures_back_off_exponentially_up_to_the_maximum() -> None:
    clock = Clock()
    restarts = policy(clock, initialBackoff="1s", maxBackoff="5s")
    delays = [restarts.failed().backoff for _ in range(5)]
    assert delays == [timedelta(seconds=s) for s in (1, 2, 4, 5, 5)]


def test_the_automatic_restart_is_due_after_the_backoff_and_taken_once() -> None:
    clock = Clock()
    restarts = policy(clock, initialBackoff="10s")
    decision = restarts.failed()
    assert decision.restart and not decision.given_up and decision.failures == 1
    assert restarts.due_at == 10.0
    clock.now = 9.99
    assert restarts.take_due() is None
    clock.now = 10.0
    assert restarts.take_due() == AUTOMATIC_RESTART_REASON
    assert restarts.take_due() is None and restarts.due_at is None


def test_max_restarts_gives_up_after_that_many_consecutive_failures() -> None:
    restarts = policy(Clock(), maxRestarts=2)
    decisions = [restarts.failed() for _ in range(3)]
    assert [d.restart for d in decisions] == [True, True, False]
    assert decisions[-1].given_up and decisions[-1].failures == 3


def test_a_success_counts_failures_from_zero_again() -> None:
    restarts = policy(Clock(), initialBackoff="1s", maxRestarts=1)
    restarts.failed()
    restarts.succeeded()
    decision = restarts.failed()
    assert decision.restart and decision.failures == 1 and decision.backoff == timedelta(seconds=1)


def test_disabled_never_restarts_and_says_it_gave_up() -> None:
    restarts = policy(Clock(), enabled=False)
    decision = restarts.failed()
    assert not decision.restart and decision.given_up and restarts.due_at is None


def test_a_configuration_at_fault_waits_for_a_request_without_giving_up() -> None:
    restarts = policy(Clock())
    decision = restarts.failed(configuration_at_fault=True)
    assert not decision.restart and not decision.given_up and restarts.due_at is None


def test_a_request_goes_first_and_resets_the_count() -> None:
    clock = Clock()
    restarts = policy(clock, initialBackoff="1s", maxRestarts=1)
    restarts.failed()
    restarts.failed()  # the limit is reached
    restarts.request("requested")
    assert restarts.consecutive_failures == 0
    clock.now = 100.0  # the automatic restart of the first failure is due too
    assert restarts.take_due() == "requested"
    assert restarts.take_due() == AUTOMATIC_RESTART_REASON
    assert restarts.failed().restart  # counted from zero: within the limit again
