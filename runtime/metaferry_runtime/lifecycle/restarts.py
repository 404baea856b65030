"""When a failed connector is restarted: the resource's `autoRestart` as pure state, with the clock injected.

- a failure schedules an automatic restart after a capped exponential backoff (initial, 2x, 4x... up to
  `maxBackoff`), unless `autoRestart.enabled` is false, `maxRestarts` consecutive failures were already
  restarted, or the configuration is at fault (CONFIG_FAILED waits for a restart request);
- a refresh that succeeds, or a restart request, starts the count of consecutive failures again;
- a restart request goes before an automatic restart that is due.

Nothing here waits or logs; the engine's supervisor asks `take_due` and carries the restart out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from metaferry_runtime.lifecycle.backoff import Backoff
from metaferry_runtime.lifecycle.scheduler import Clock
from metaferry_runtime.resource.spec import AutoRestart

AUTOMATIC_RESTART_REASON = "automatic restart after failure"


@dataclass(frozen=True)
class RestartDecision:
    """What one failure leads to: an automatic `restart` after `backoff`, or none; `given_up` when none
    although the configuration is not at fault (auto-restart disabled, or `maxRestarts` reached)."""

    failures: int  # consecutive, this one included
    restart: bool
    given_up: bool
    backoff: timedelta


class RestartPolicy:
    def __init__(self, policy: AutoRestart, *, clock: Clock) -> None:
        self._policy = policy
        self._clock = clock
        self._backoff = Backoff(policy.initial_backoff, policy.max_backoff)
        self.consecutive_failures = 0
        self.requested: str | None = None  # the reason of a restart asked for and not yet carried out
        self.due_at: float | None = None  # clock time of the automatic restart scheduled after a failure

    def failed(self, *, configuration_at_fault: bool = False) -> RestartDecision:
        """Count a failure and schedule the automatic restart it calls for, if any."""
        self.consecutive_failures += 1
        limit = self._policy.max_restarts
        exhausted = limit is not None and self.consecutive_failures > limit
        restart = not configuration_at_fault and self._policy.enabled and not exhausted
        backoff = self._backoff.delay(self.consecutive_failures)
        if restart:
            self.due_at = self._clock() + backoff.total_seconds()
        return RestartDecision(
            failures=self.consecutive_failures,
            restart=restart,
            given_up=not restart and not configuration_at_fault,
            backoff=backoff,
        )

    def succeeded(self) -> None:
        self.consecutive_failures = 0

    def request(self, reason: str) -> None:
        """A restart was asked for: it goes next, and failures are counted from zero again."""
        self.requested = reason
        self.consecutive_failures = 0

    def take_due(self) -> str | None:
        """The reason of the restart to carry out now (a request first, then an automatic one that is due),
        or None; what is returned is cleared."""
        if self.requested is not None:
            reason, self.requested = self.requested, None
            return reason
        if self.due_at is not None and self._clock() >= self.due_at:
            self.due_at = None
            return AUTOMATIC_RESTART_REASON
        return None
