"""Fewer garbage-collector passes while a refresh transaction is open.

Why: a refresh keeps a record, a snapshot and an event per element until it commits, so the heap grows by
hundreds of thousands of objects, and CPython's cyclic collector rescans the young ones every 700
allocations: about a tenth of a 20,000-file refresh. Those objects are freed by reference counting (the
records hold no cycles), so collecting less often loses nothing; it is not switched off, so any cyclic
garbage made meanwhile (by this or another thread) is still collected, in bigger, rarer passes.

The thresholds are process-wide, so the change is reference-counted: the first refresh in raises them, the
last one out restores what it found (unless someone changed them meanwhile).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: Allocations between young-generation passes during a refresh (CPython's default is 700).
REFRESH_THRESHOLD = 50_000

_lock = threading.Lock()
_depth = 0
_saved: tuple[int, ...] | None = None


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Raise the young-generation threshold for the duration of the block (see the module docstring)."""
    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = gc.get_threshold()
            if 0 < _saved[0] < REFRESH_THRESHOLD:
                gc.set_threshold(REFRESH_THRESHOLD, *_saved[1:])
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved is not None:
                current = gc.get_threshold()
                if current[0] == REFRESH_THRESHOLD and current[1:] == _saved[1:]:
                    gc.set_threshold(*_saved)
                _saved = None
