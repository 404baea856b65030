"""While the shared repository (PostgreSQL) is down, a connector's refreshes fail, the connector is FAILED (not
ready, the error in its report) and is restarted with a growing, capped backoff rather than in a tight loop;
once the repository is back the next refresh catalogues everything the outage held back, and nothing the
failed refreshes did is left behind (each refresh is one transaction). A restart of the repository between two
refreshes does not fail the next one on the pool's dead connections, and a batch the outage cuts off mid-way
leaves nothing behind.

Driven through the lifecycle engine with the built-in directory-monitor on a real tree and a real PostgreSQL
server of the test's own, stopped and started again (the shared server is never stopped).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import psycopg
import pytest

from metaferry_runtime.lifecycle import ConnectorRuntime
from metaferry_runtime.report import ConnectorStatus, RefreshRecord, RefreshResult
from metaferry_runtime.repository import Element, InstanceStatus, MetadataRepository, Page, open_repository
from tests.postgres_server import PostgresServer, create_database, start_postgres
from tests.repositories import POLL_INTERVAL
from tests.runtime import sample_connectors as samples
from tests.runtime.conftest import make_resource
from tests.waiting import wait_for_async

SOURCE = "test/outage"
BEFORE = [f"before-{i}.csv" for i in range(5)]
DURING = [f"during-{i}.csv" for i in range(3)]
REFRESH_FAILED, RESTARTING = "METAFERRY-RUNTIME-0008", "METAFERRY-RUNTIME-0011"
# A lower bound, never an upper one, with slack: a failure is audited just after its restart is scheduled (the
# log write in between can take a while on a busy machine), on the wall clock rather than the scheduler's. Half
# a second still tells a 1s backoff from a tight loop, and a doubled one from the first.
CLOCK_SLACK = 0.5


@pytest.fixture
def outage_repository(private_postgres: PostgresServer) -> Iterator[MetadataRepository]:
    repository = open_repository(create_database(private_postgres.url), poll_interval=POLL_INTERVAL)
    yield repository
    repository.close()


def _catalogued(repository: MetadataRepository) -> dict[str, Element]:
    with repository.transaction(actor=SOURCE) as tx:
        elements = tx.find_elements(metadata_collection=SOURCE, include_archived=True, page=Page(page_size=1000))
    return {element.qualified_name: element for element in elements}


def _gaps_from_failure_to_restart(runtime: ConnectorRuntime) -> list[float]:
    """Seconds from each failed refresh to the automatic restart that followed it (audit records' times)."""
    gaps: list[float] = []
    failed_at: datetime | None = None
    for record in runtime.audit_log.records():
        if record.message_id == REFRESH_FAILED:
            failed_at = record.time
        elif record.message_id == RESTARTING and failed_at is not None:
            gaps.append((record.time - failed_at).total_seconds())
            failed_at = None
    return gaps


def _succeeded(record: RefreshRecord | None) -> bool:
    return record is not None and record.result is RefreshResult.SUCCEEDED


@pytest.mark.postgres
async def test_refreshes_during_an_outage_fail_with_backoff_and_the_next_one_catalogues_what_they_missed(
    private_postgres: PostgresServer, outage_repository: MetadataRepository, tmp_path: Path
) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    for name in BEFORE:
        (tree / name).write_text("id\n1\n")
    resource = make_resource(
        "directory-monitor",
        connection={"endpoint": str(tree)},
        metadataSourceQualifiedName=SOURCE,
        autoRestart={"initialBackoff": "1s", "maxBackoff": "2s"},
    )
    runtime = ConnectorRuntime(resource=resource, repository=outage_repository)
    await runtime.start()
    await wait_for_async(lambda: runtime.refresh_count == 1 and runtime.status is ConnectorStatus.WAITING)
    first_refresh = runtime.report().last_refresh
    assert first_refresh is not None and first_refresh.result is RefreshResult.SUCCEEDED
    first = _catalogued(outage_repository)
    assert {f"file://{tree / name}" for name in BEFORE} <= set(first)
    assert len(first) == first_refresh.statistics.created  # the files and their folder

    private_postgres.stop()
    for name in DURING:
        (tree / name).write_text("id\n2\n")
    runtime.request_refresh("during-outage")
    await wait_for_async(lambda: runtime.failed_refresh_count == 1 and runtime.status is ConnectorStatus.FAILED)
    report = runtime.report()
    assert not runtime.is_ready  # /readyz says 503, the operator's status says ConnectorFailed
    assert report.restart_count == 0, "the restart waits for its backoff"
    assert report.last_refresh is not None and report.last_refresh.result is RefreshResult.FAILED
    assert report.last_refresh.statistics.created == 0
    assert (report.last_error or "").startswith("RepositoryUnavailable: the repository database cannot be reached")
    # Restarted again and again while it is down (the refresh the restart runs fails too), never in a tight
    # loop: each restart waits its backoff after the failure, 1s, then 2s, then capped at 2s.
    await wait_for_async(lambda: runtime.restart_count == 3 and runtime.status is ConnectorStatus.FAILED, timeout=60)
    gaps = _gaps_from_failure_to_restart(runtime)
    assert len(gaps) == 3 and runtime.failed_refresh_count == 4
    assert [gap >= backoff - CLOCK_SLACK for gap, backoff in zip(gaps, [1, 2, 2], strict=True)] == [True] * 3, gaps

    restarted = start_postgres(private_postgres.directory)
    assert restarted.url == private_postgres.url
    await wait_for_async(lambda: _succeeded(runtime.report().last_refresh), timeout=60)
    recovered = runtime.report().last_refresh
    await runtime.shutdown()
    assert recovered is not None
    assert recovered.trigger == "restart"  # the refresh the outage held back, run by the restart after it
    assert (recovered.statistics.created, recovered.statistics.unchanged) == (len(DURING), len(BEFORE))
    assert recovered.statistics.archived == 0

    after = _catalogued(outage_repository)
    assert len(after) == len(first) + len(DURING)
    for name in DURING:
        element = after[f"file://{tree / name}"]
        assert element.provenance.created_by_refresh == recovered.refresh_id
    for qualified_name, element in first.items():  # every element of the first refresh intact
        kept = after[qualified_name]
        assert kept.guid == element.guid and kept.status is InstanceStatus.ACTIVE
        assert kept.provenance.created_by_refresh == first_refresh.refresh_id
    for element in after.values():  # no trace of a failed refresh
        assert element.provenance.last_refresh_id in {first_refresh.refresh_id, recovered.refresh_id}


@pytest.mark.postgres
async def test_the_first_refresh_after_a_repository_restart_succeeds_on_the_pooled_connections(
    private_postgres: PostgresServer, outage_repository: MetadataRepository, tmp_path: Path
) -> None:
    """The outage fell between two refreshes, so no failure flushed the pool: its connections are dead, and the
    next refresh must not fail on one of them (nor wait for a restart's backoff)."""
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / BEFORE[0]).write_text("id\n1\n")
    resource = make_resource(
        "directory-monitor",
        connection={"endpoint": str(tree)},
        metadataSourceQualifiedName=SOURCE,
        autoRestart={"initialBackoff": "1h"},
    )
    runtime = ConnectorRuntime(resource=resource, repository=outage_repository)
    await runtime.start()
    await wait_for_async(lambda: runtime.refresh_count == 1 and runtime.status is ConnectorStatus.WAITING)

    private_postgres.restart()
    (tree / DURING[0]).write_text("id\n2\n")
    runtime.request_refresh("after-restart")
    await wait_for_async(lambda: runtime.refresh_count == 2 and runtime.status is not ConnectorStatus.REFRESHING)
    record = runtime.report().last_refresh
    await runtime.shutdown()
    assert record is not None and record.error is None and record.result is RefreshResult.SUCCEEDED
    assert record.statistics.created == 1 and runtime.failed_refresh_count == 0
    assert f"file://{tree / DURING[0]}" in _catalogued(outage_repository)


def _open_transactions(server_url: str, database: str) -> int:
    with psycopg.connect(server_url, autocommit=True, connect_timeout=10) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND state = 'idle in transaction'", (database,)
        ).fetchone()
    return int(row[0]) if row else 0


@pytest.mark.postgres
async def test_a_batch_cut_off_by_the_outage_leaves_nothing_and_the_refresh_after_it_writes_it_whole(
    private_postgres: PostgresServer, tmp_path: Path
) -> None:
    """The repository goes down while a refresh holds its transaction open, with a write already in the
    database (flushed, uncommitted): none of it survives, and the refresh after the restart commits its batch."""
    url = create_database(private_postgres.url)
    repository = open_repository(url, poll_interval=POLL_INTERVAL)
    holding = samples.TransactionHoldingConnector
    holding.reset()
    runtime = ConnectorRuntime(
        resource=make_resource("TransactionHoldingConnector", autoRestart={"initialBackoff": "1s"}),
        repository=repository,
    )
    try:
        await runtime.start()
        database = url.rpartition("/")[2]
        await wait_for_async(lambda: _open_transactions(private_postgres.url, database) == 1)
        private_postgres.stop()
        holding.release.set()
        await wait_for_async(lambda: runtime.failed_refresh_count == 1 and runtime.status is ConnectorStatus.FAILED)
        cut_off = runtime.report().last_refresh
        assert cut_off is not None and cut_off.result is RefreshResult.FAILED
        assert holding.late_write_error is not None

        start_postgres(private_postgres.directory)
        await wait_for_async(lambda: _succeeded(runtime.report().last_refresh), timeout=30)
        recovered = runtime.report().last_refresh
        assert recovered is not None and recovered.trigger == "restart"
        with repository.transaction(actor="test/reader") as tx:
            element = tx.find_element_by_name(holding.QUALIFIED_NAME)
            late = tx.find_element_by_name(holding.LATE_QUALIFIED_NAME, include_archived=True)
        assert late is None, "nothing of the batch the outage cut off was committed"
        assert element is not None and element.properties["name"] == "refresh 2"
        assert element.provenance.created_by_refresh == recovered.refresh_id
    finally:
        holding.release.set()
        await runtime.shutdown()
        repository.close()
