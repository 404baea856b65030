"""Hand the C heap's free memory back to the system once a refresh is over.

Why: a refresh builds a record, a snapshot and an event per element and frees them all when it commits or
rolls back. glibc keeps freed memory for reuse and returns it only from the top of an arena, so the
runtime would idle with the resident memory of its last refresh, though it has freed it. malloc_trim(0)
returns the free pages of every arena; it costs a few milliseconds, once per refresh. Where the C library
has no malloc_trim (musl, macOS) this does nothing.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable


def _find_malloc_trim() -> Callable[[int], int] | None:
    """malloc_trim from the C library the interpreter is linked to (`CDLL(None)`: the process's own
    symbols, so no library search and no subprocess), or None."""
    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


_malloc_trim = _find_malloc_trim()


def release_free_memory() -> bool:
    """Return free heap memory to the system; True when some was returned."""
    return _malloc_trim is not None and _malloc_trim(0) == 1
