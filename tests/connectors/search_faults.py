"""A search-indexer whose process dies at a chosen point of a catch-up, for the crash tests.

Why a real death and not an exception: what must hold is what a killed pod leaves on disk. The process
exits with `os._exit` (no cleanup, no flush, no commit of anything in flight, as SIGKILL) either right after
its Nth commit (between batches) or after it has added the next batch's documents but before that batch's
commit (inside one). Chosen by the environment: SEARCH_CRASH_AFTER_COMMITS=N, SEARCH_CRASH_MODE=between|inside.
"""

from __future__ import annotations

import os
from typing import Any

from metaferry_runtime.connectors.search_indexer import SearchIndexerConnector

CRASH_EXIT_CODE = 86


class _WriterThatDiesOnCommit:
    """The index writer, except that its commit kills the process: the batch is added, never committed."""

    def __init__(self, writer: Any) -> None:
        self._writer = writer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._writer, name)

    def commit(self) -> int:
        os._exit(CRASH_EXIT_CODE)


class CrashingIndexer(SearchIndexerConnector):
    def __init__(self) -> None:
        super().__init__()
        self._commits = 0

    def _committed(self, cursor: int) -> None:
        self._commits += 1
        if self._commits < int(os.environ["SEARCH_CRASH_AFTER_COMMITS"]):
            return
        if os.environ.get("SEARCH_CRASH_MODE", "between") == "between":
            os._exit(CRASH_EXIT_CODE)
        self.index._writer = _WriterThatDiesOnCommit(self.index._writer)
