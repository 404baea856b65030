"""Capped exponential backoff for automatic restarts (Strimzi's auto-restart, without Egeria's sticky FAILED)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Backoff:
    initial: timedelta
    maximum: timedelta

    def delay(self, attempt: int) -> timedelta:
        """Delay before restart number `attempt` (1-based): initial, 2x, 4x... never above the maximum."""
        if attempt < 1:
            return timedelta(0)
        delay: timedelta = self.initial * 2 ** min(attempt - 1, 30)
        return min(delay, self.maximum)
