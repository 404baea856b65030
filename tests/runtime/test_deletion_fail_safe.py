"""The deletion fail-safe refuses only the archiving: a refresh that trips it still catalogues what is new and
changed, reports the refusal, and leaves the connector healthy; a confirmation lets the next refresh archive.

Driven through the lifecycle engine with the built-in directory-monitor on a real tree and a real SQLite
repository, so an unchanged connector is shown to get the behaviour from the shared mechanism.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from metaferry_runtime.api import RuntimeApi
from metaferry_runtime.audit import RuntimeMessages
from metaferry_runtime.lifecycle import ConnectorRuntime
from metaferry_runtime.report import ConnectorStatus, RefreshResult
from metaferry_runtime.repository import InstanceStatus, MetadataRepository
from tests.repositories import ON_BOTH_BACKENDS
from tests.runtime.conftest import make_resource
from tests.waiting import wait_for_async

SOURCE = "test/monitor"
FILES = [f"f{i}.csv" for i in range(8)]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    root.mkdir()
    for name in FILES:
        (root / name).write_text("id\n1\n")
    return root


def _runtime(repository: MetadataRepository, tree: Path, *, max_archive_percent: int = 30) -> ConnectorRuntime:
    resource = make_resource(
        "directory-monitor",
        connection={"endpoint": str(tree)},
        metadataSourceQualifiedName=SOURCE,
        deletionDetection={"maxArchivePercent": max_archive_percent},
    )
    return ConnectorRuntime(resource=resource, repository=repository)


def _status_of(repository: MetadataRepository, path: Path) -> InstanceStatus | None:
    with repository.transaction(actor=SOURCE) as tx:
        element = tx.find_element_by_name(f"file://{path}", include_archived=True)
    return None if element is None else element.status


async def _refresh(runtime: ConnectorRuntime, request_id: str, **kwargs: bool) -> None:
    before = runtime.refresh_count
    runtime.request_refresh(request_id, **kwargs)
    await wait_for_async(lambda: runtime.refresh_count > before and runtime.status is not ConnectorStatus.REFRESHING)


@ON_BOTH_BACKENDS
async def test_a_tripped_fail_safe_commits_creates_and_updates_and_refuses_only_the_archive(
    repository: MetadataRepository, tree: Path
) -> None:
    runtime = _runtime(repository, tree)
    await runtime.start()
    await wait_for_async(lambda: runtime.refresh_count == 1)
    for name in FILES[:5]:
        (tree / name).unlink()
    (tree / "new.csv").write_text("id\n")
    (tree / FILES[7]).write_text("id,changed\n1,2\n")
    await _refresh(runtime, "after-the-deletions")
    report = runtime.report()
    await runtime.shutdown()

    assert report.last_refresh is not None and report.last_refresh.result is RefreshResult.SUCCEEDED
    assert report.status is ConnectorStatus.WAITING, "the connector stays healthy, not FAILED"
    assert (report.failed_refresh_count, report.restart_count, report.last_error) == (0, 0, None)
    # created: new.csv; updated: the changed file and the root folder, whose modification time moved
    assert (report.statistics.created, report.statistics.updated, report.statistics.archived) == (1, 2, 0)
    assert report.statistics.would_archive == 5
    refused = report.archive_refused
    assert refused is not None
    assert (refused.refresh_id, refused.would_archive, refused.in_scope, refused.max_archive_percent) == (
        report.last_refresh.refresh_id,
        5,
        9,  # the 8 files the connector owned before this refresh, and the new one
        30,
    )
    assert refused.message_id == RuntimeMessages.ARCHIVE_REFUSED.message_id
    assert "metaferry.io/confirm-archive-requested-at" in refused.message
    assert report.to_wire()["archiveRefused"]["wouldArchive"] == 5, "GET /status shows it"
    assert _status_of(repository, tree / "new.csv") is InstanceStatus.ACTIVE, "the new file is catalogued"
    assert all(_status_of(repository, tree / name) is InstanceStatus.ACTIVE for name in FILES[:5])
    [record] = [r for r in runtime.audit_log.records() if r.message_id == RuntimeMessages.ARCHIVE_REFUSED.message_id]
    assert "5" in record.text and "30%" in record.text


async def test_a_refresh_that_archives_within_the_fail_safe_reports_no_refusal(
    repository: MetadataRepository, tree: Path
) -> None:
    runtime = _runtime(repository, tree)
    await runtime.start()
    await wait_for_async(lambda: runtime.refresh_count == 1)
    (tree / FILES[0]).unlink()
    await _refresh(runtime, "one-gone")
    report = runtime.report()
    await runtime.shutdown()
    assert (report.statistics.archived, report.statistics.would_archive, report.archive_refused) == (1, 0, None)


@ON_BOTH_BACKENDS
async def test_confirming_the_archive_archives_on_the_next_refresh(repository: MetadataRepository, tree: Path) -> None:
    runtime = _runtime(repository, tree)
    await runtime.start()
    await wait_for_async(lambda: runtime.refresh_count == 1)
    for name in FILES[:5]:
        (tree / name).unlink()
    await _refresh(runtime, "refused")
    assert runtime.report().archive_refused is not None
    accepted = runtime.request_refresh("confirmed-1", confirm_archive=True)
    assert accepted.archive_confirmed
    await wait_for_async(lambda: runtime.refresh_count == 3 and runtime.status is not ConnectorStatus.REFRESHING)
    confirmed = runtime.report()
    for name in FILES[5:7]:
        (tree / name).unlink()
    await _refresh(runtime, "after-the-confirmed-one")
    after = runtime.report()
    await runtime.shutdown()

    assert (confirmed.statistics.archived, confirmed.archive_refused) == (5, None)
    assert all(_status_of(repository, tree / name) is InstanceStatus.ARCHIVED for name in FILES[:5])
    assert any(r.message_id == RuntimeMessages.ARCHIVE_CONFIRMED.message_id for r in runtime.audit_log.records())
    assert after.archive_refused is not None, "a confirmation is used once: the next refresh is held again"
    assert (after.archive_refused.would_archive, after.statistics.archived) == (2, 0)
    assert runtime.request_refresh("confirmed-1", confirm_archive=True).refresh_id == accepted.refresh_id, (
        "the same confirmation is not carried out twice"
    )


async def test_a_confirmation_and_a_refresh_request_with_the_same_value_are_two_requests(
    repository: MetadataRepository, tree: Path
) -> None:
    runtime = _runtime(repository, tree)
    await runtime.start()
    await wait_for_async(lambda: runtime.refresh_count == 1)
    for name in FILES[:5]:
        (tree / name).unlink()
    await _refresh(runtime, "2030-01-01T00:00:00Z")
    await _refresh(runtime, "2030-01-01T00:00:00Z", confirm_archive=True)
    report = runtime.report()
    await runtime.shutdown()
    assert (report.refresh_count, report.statistics.archived) == (3, 5)


async def test_get_status_shows_the_refusal_and_post_refresh_confirms_the_archive(
    repository: MetadataRepository, tree: Path
) -> None:
    runtime = _runtime(repository, tree)
    await runtime.start()
    await wait_for_async(lambda: runtime.refresh_count == 1)
    for name in FILES[:5]:
        (tree / name).unlink()
    auth = {"Authorization": "Bearer token-for-the-fail-safe-tests"}
    async with TestClient(TestServer(RuntimeApi(runtime, token="token-for-the-fail-safe-tests").app)) as client:
        await (await client.post("/refresh", headers=auth, json={"requestId": "look"})).json()
        await wait_for_async(lambda: runtime.refresh_count == 2 and runtime.status is not ConnectorStatus.REFRESHING)
        refused = (await (await client.get("/status")).json())["archiveRefused"]
        response = await client.post("/refresh", headers=auth, json={"requestId": "go", "confirmArchive": True})
        accepted = await response.json()
        await wait_for_async(lambda: runtime.refresh_count == 3 and runtime.status is not ConnectorStatus.REFRESHING)
        status = await (await client.get("/status")).json()
    await runtime.shutdown()
    assert (refused["wouldArchive"], refused["messageId"]) == (5, RuntimeMessages.ARCHIVE_REFUSED.message_id)
    assert (response.status, accepted["archiveConfirmed"]) == (202, True)
    assert (status["statistics"]["archived"], "archiveRefused" in status) == (5, False)


async def test_the_refusal_in_the_report_is_masked(repository: MetadataRepository, tmp_path: Path) -> None:
    secret = "s3cret-directory-name"
    tree = tmp_path / secret
    tree.mkdir()
    for name in FILES:
        (tree / name).write_text("id\n")
    resource = make_resource(
        "directory-monitor",
        connection={"endpoint": str(tree)},
        metadataSourceQualifiedName=SOURCE,
        deletionDetection={"maxArchivePercent": 30},
    )
    runtime = ConnectorRuntime(resource=resource, repository=repository, secured_properties={"password": secret})
    await runtime.start()
    await wait_for_async(lambda: runtime.refresh_count == 1)
    for name in FILES[:5]:
        (tree / name).unlink()
    await _refresh(runtime, "refused")
    report = runtime.report()
    await runtime.shutdown()
    assert report.archive_refused is not None and report.archive_refused.would_archive == 5
    assert secret not in json.dumps(report.to_wire())
    assert all(secret not in record.text for record in runtime.audit_log.records())
