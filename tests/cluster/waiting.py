"""Moved to `tests/waiting.py`, the whole suite's wait helper; this path is kept for tests written before
the move, so they still import. New tests import `tests.waiting`."""

from tests.waiting import wait_for

__all__ = ["wait_for"]
