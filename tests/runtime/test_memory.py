"""The runtime hands freed memory back to the system after every refresh."""

from __future__ import annotations

import sys

import pytest

from metaferry_runtime.lifecycle import ConnectorRuntime, incarnation, memory
from metaferry_runtime.repository import MetadataRepository
from tests.runtime.conftest import make_resource
from tests.waiting import wait_for_async


def test_release_free_memory_trims_the_heap_where_the_c_library_can() -> None:
    assert isinstance(memory.release_free_memory(), bool)
    if sys.platform == "linux":
        assert memory._malloc_trim is not None, "glibc (the runtime image's C library) has malloc_trim"


async def test_free_memory_is_released_after_each_refresh(
    repository: MetadataRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    releases: list[int] = []
    monkeypatch.setattr(incarnation, "release_free_memory", lambda: releases.append(1) or True)
    runtime = ConnectorRuntime(
        resource=make_resource("WritingConnector", connection={"configurationProperties": {"elements": 3}}),
        repository=repository,
    )
    await runtime.start()
    await wait_for_async(lambda: runtime.refresh_count == 1)
    runtime.request_refresh()
    await wait_for_async(lambda: runtime.refresh_count == 2)
    await runtime.shutdown()
    assert len(releases) == 2
