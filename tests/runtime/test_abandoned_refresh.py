"""An abandoned refresh gives its database transaction back, on SQLite and on PostgreSQL.

A refresh that hangs past `refreshTimeout` holds the write lock (SQLite's BEGIN IMMEDIATE) or row locks
(PostgreSQL) of its transaction; the runtime must release them when it abandons the refresh, or every later
refresh waits on them and times out without refresh() ever being called.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from pathlib import Path

from metaferry_runtime.lifecycle import ConnectorRuntime, RuntimeSettings
from metaferry_runtime.report import ConnectorStatus, RefreshResult
from metaferry_runtime.repository import MetadataRepository, RepositoryError, open_repository
from tests.repositories import ON_BOTH_BACKENDS
from tests.runtime import sample_connectors as samples
from tests.runtime.conftest import make_resource
from tests.waiting import wait_for_async

FAST_SHUTDOWN = RuntimeSettings(shutdown_grace=timedelta(seconds=1))


@ON_BOTH_BACKENDS
async def test_a_timed_out_refresh_releases_its_transaction_so_the_next_refresh_runs(
    repository: MetadataRepository,
) -> None:
    samples.TransactionHoldingConnector.reset()
    runtime = ConnectorRuntime(
        resource=make_resource(
            "TransactionHoldingConnector", refreshTimeout="1s", autoRestart={"initialBackoff": "1s"}
        ),
        repository=repository,
        settings=FAST_SHUTDOWN,
    )
    await runtime.start()
    try:
        await wait_for_async(lambda: runtime.refresh_count >= 2, timeout=30)
        report = runtime.report()
        assert report.last_refresh is not None
        assert report.last_refresh.result is RefreshResult.SUCCEEDED, report.last_refresh.error
        assert samples.TransactionHoldingConnector.refreshes == 2, "the second refresh called refresh()"
        assert report.status is ConnectorStatus.WAITING
    finally:
        samples.TransactionHoldingConnector.release.set()
        await runtime.shutdown()

    with repository.transaction(actor="reader") as transaction:
        element = transaction.find_element_by_name(samples.TransactionHoldingConnector.QUALIFIED_NAME)
        assert element is not None and element.properties["name"] == "refresh 2"


@ON_BOTH_BACKENDS
async def test_a_write_by_an_abandoned_refresh_fails_instead_of_landing(repository: MetadataRepository) -> None:
    samples.TransactionHoldingConnector.reset()
    runtime = ConnectorRuntime(
        resource=make_resource(
            "TransactionHoldingConnector", refreshTimeout="1s", autoRestart={"initialBackoff": "1h"}
        ),
        repository=repository,
        settings=FAST_SHUTDOWN,
    )
    await runtime.start()
    try:
        await wait_for_async(lambda: runtime.failed_refresh_count == 1, timeout=30)
        samples.TransactionHoldingConnector.release.set()
        await asyncio.to_thread(samples.TransactionHoldingConnector.late_write_done.wait, 10)
        assert isinstance(samples.TransactionHoldingConnector.late_write_error, RepositoryError)
    finally:
        samples.TransactionHoldingConnector.release.set()
        await runtime.shutdown()

    with repository.transaction(actor="reader") as transaction:
        assert transaction.find_element_by_name(samples.TransactionHoldingConnector.LATE_QUALIFIED_NAME) is None
        assert transaction.find_element_by_name(samples.TransactionHoldingConnector.QUALIFIED_NAME) is None


async def test_a_refresh_abandoned_while_it_waited_for_the_database_never_calls_refresh(tmp_path: Path) -> None:
    repository = open_repository(f"sqlite:///{tmp_path / 'repository.db'}")
    locked, unlock = threading.Event(), threading.Event()

    def hold_the_write_lock() -> None:
        with repository.transaction(actor="another-writer"):
            locked.set()
            unlock.wait(30)

    holder = threading.Thread(target=hold_the_write_lock, daemon=True)
    holder.start()
    assert await asyncio.to_thread(locked.wait, 10)
    calls_before = set(_connector_calls())
    samples.RecordingConnector.reset()
    runtime = ConnectorRuntime(
        resource=make_resource("RecordingConnector", refreshTimeout="1s", autoRestart={"initialBackoff": "1h"}),
        repository=repository,
        settings=FAST_SHUTDOWN,
    )
    await runtime.start()
    try:
        await wait_for_async(lambda: runtime.failed_refresh_count == 1, timeout=30)
        unlock.set()  # the abandoned refresh's thread now gets its transaction
        await wait_for_async(lambda: not set(_connector_calls()) - calls_before, timeout=30)
        assert "refresh" not in samples.RecordingConnector.calls
    finally:
        unlock.set()
        await runtime.shutdown()
        repository.close()


def _connector_calls() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "metaferry-connector-call"]
