"""The search-indexer connector's configuration properties."""

from __future__ import annotations

from pydantic import Field, StrictBool, model_validator

from metaferry_runtime.sdk import ConnectorConfiguration


class SearchIndexerSettings(ConnectorConfiguration):
    """How much one commit covers, the Tantivy writer's memory and threads, and who may query."""

    events_per_commit: int = Field(
        default=10_000, ge=1, le=1_000_000, description="most out-topic events one index commit covers, 1 or more"
    )
    gather_seconds: float = Field(
        default=0.2,
        ge=0,
        le=10,
        description="seconds a burst of events may gather before it is committed, 0 to 10",
    )
    writer_heap_megabytes: int = Field(
        default=64, ge=16, le=4096, description="memory of the index writer in MB, 16 to 4096 (per thread at least 15)"
    )
    indexing_threads: int = Field(default=1, ge=1, le=16, description="index writer threads, 1 to 16")
    rebuild_page_size: int = Field(
        default=5000, ge=100, le=10_000, description="elements read per page when the index is rebuilt, 100 to 10000"
    )
    require_token: StrictBool = Field(
        default=False,
        description="true or false: GET /search needs the runtime's bearer token (like POST /refresh)",
    )

    @model_validator(mode="after")
    def _heap_per_thread(self) -> SearchIndexerSettings:
        if self.writer_heap_megabytes < 16 * self.indexing_threads:
            raise ValueError("writerHeapMegabytes must be at least 16 per indexing thread")
        return self
