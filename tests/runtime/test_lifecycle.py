"""The lifecycle engine against real connectors, threads and a real SQLite repository."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from metaferry_runtime.lifecycle import ConnectorRuntime, RuntimeSettings
from metaferry_runtime.lifecycle.threads import run_inline
from metaferry_runtime.report import ConnectorStatus, RefreshResult
from metaferry_runtime.repository import MetadataRepository
from metaferry_runtime.sdk import ContextDisconnected
from tests.runtime import sample_connectors as samples
from tests.runtime.conftest import make_resource
from tests.waiting import wait_for_async

FAST_SHUTDOWN = RuntimeSettings(shutdown_grace=timedelta(seconds=1), engage_pause=timedelta(milliseconds=20))


async def test_lifecycle_calls_follow_egerias_order(repository: MetadataRepository) -> None:
    samples.RecordingConnector.reset()
    runtime = ConnectorRuntime(resource=make_resource("RecordingConnector"), repository=repository)
    await runtime.start()
    await wait_for_async(lambda: runtime.refresh_count == 1)
    await runtime.shutdown()
    assert samples.RecordingConnector.calls == [
        "initialize",
        "set_audit_log",
        "set_connector_name",
        "set_context",
        "start",
        "refresh",
        "disconnect",
    ]
    assert runtime.status is ConnectorStatus.DISCONNECTED


async def test_status_moves_through_initialized_waiting_refreshing(repository: MetadataRepository) -> None:
    samples.GatedConnector.reset()
    runtime = ConnectorRuntime(resource=make_resource("GatedConnector"), repository=repository)
    seen: list[ConnectorStatus] = []
    runtime._status.on_change(seen.append)
    await runtime.start()
    await asyncio.to_thread(samples.GatedConnector.entered.acquire, True, 10)
    assert runtime.status is ConnectorStatus.REFRESHING
    samples.GatedConnector.gate.set()
    await wait_for_async(lambda: runtime.status is ConnectorStatus.WAITING)
    await runtime.shutdown()
    assert seen == [
        ConnectorStatus.STOPPED,
        ConnectorStatus.INITIALIZED,
        ConnectorStatus.WAITING,
        ConnectorStatus.REFRESHING,
        ConnectorStatus.WAITING,
        ConnectorStatus.DISCONNECTED,
    ]


async def test_requests_during_a_refresh_coalesce_into_exactly_one_more(repository: MetadataRepository) -> None:
    samples.GatedConnector.reset()
    runtime = ConnectorRuntime(resource=make_resource("GatedConnector"), repository=repository)
    await runtime.start()
    await asyncio.to_thread(samples.GatedConnector.entered.acquire, True, 10)
    accepted = [runtime.request_refresh(f"request-{i}") for i in range(5)]
    assert all(a.queued for a in accepted)
    assert len({a.refresh_id for a in accepted}) == 1, "all requests during a refresh share one queued refresh"
    samples.GatedConnector.gate.set()
    await wait_for_async(lambda: runtime.refresh_count == 2 and runtime.report().pending_refresh_requests == 0)
    await runtime.shutdown()
    assert samples.GatedConnector.refreshes == 2
    assert samples.GatedConnector.max_running == 1, "two refreshes never run at once"


async def test_a_repeated_request_id_does_not_refresh_twice(repository: MetadataRepository) -> None:
    samples.RecordingConnector.reset()
    runtime = ConnectorRuntime(resource=make_resource("RecordingConnector"), repository=repository)
    await runtime.start()
    await wait_for_async(lambda: runtime.refresh_count == 1)
    first = runtime.request_refresh("2026-11-28T10:00:00Z")
    await wait_for_async(lambda: runtime.refresh_count == 2)
    again = runtime.request_refresh("2026-11-28T10:00:00Z")
    assert again.refresh_id == first.refresh_id
    assert runtime.report().pending_refresh_requests == 0
    await runtime.shutdown()
    assert samples.RecordingConnector.calls.count("refresh") == 2


@pytest.mark.looptime
async def test_interval_refreshes_follow_the_refresh_interval(repository: MetadataRepository) -> None:
    samples.RecordingConnector.reset()
    runtime = ConnectorRuntime(
        resource=make_resource("RecordingConnector", refreshInterval="10s"),
        repository=repository,
        call_runner=run_inline,
    )
    await runtime.start()
    await asyncio.sleep(35)  # loop time only: looptime fast-forwards
    assert runtime.refresh_count == 4  # at start, then 10 s after each refresh ended: 10, 20, 30
    report = runtime.report()
    assert report.next_refresh_time is not None
    await runtime.shutdown()


@pytest.mark.looptime
async def test_without_an_interval_refresh_happens_only_at_start_and_on_request(
    repository: MetadataRepository,
) -> None:
    samples.RecordingConnector.reset()
    runtime = ConnectorRuntime(
        resource=make_resource("RecordingConnector", refreshInterval="0"), repository=repository, call_runner=run_inline
    )
    await runtime.start()
    await asyncio.sleep(3600)
    assert runtime.refresh_count == 1
    runtime.request_refresh()
    await asyncio.sleep(1)
    assert runtime.refresh_count == 2
    assert runtime.report().next_refresh_time is None
    await runtime.shutdown()


@pytest.mark.looptime
async def test_failed_start_is_restarted_with_exponential_backoff(repository: MetadataRepository) -> None:
    samples.FailingStartConnector.reset(failures=3)
    runtime = ConnectorRuntime(
        resource=make_resource("FailingStartConnector", autoRestart={"initialBackoff": "10s", "maxBackoff": "15s"}),
        repository=repository,
        call_runner=run_inline,
    )
    await runtime.start()
    assert runtime.status is ConnectorStatus.FAILED
    assert "start attempt 1 fails" in (runtime.report().last_error or "")
    await asyncio.sleep(9.9)
    assert samples.FailingStartConnector.attempts == 1, "no restart before the first backoff (10s)"
    await asyncio.sleep(0.2)
    assert samples.FailingStartConnector.attempts == 2
    await asyncio.sleep(14.8)
    assert samples.FailingStartConnector.attempts == 2, "second backoff doubles to 20s, capped at 15s"
    await asyncio.sleep(0.4)
    assert samples.FailingStartConnector.attempts == 3
    await asyncio.sleep(15.1)
    assert samples.FailingStartConnector.attempts == 4
    assert runtime.status is ConnectorStatus.WAITING
    report = runtime.report()
    assert report.restart_count == 3
    assert report.refresh_count == 1
    await runtime.shutdown()


@pytest.mark.looptime
async def test_restarts_stop_after_max_restarts(repository: MetadataRepository) -> None:
    samples.FailingStartConnector.reset(failures=100)
    runtime = ConnectorRuntime(
        resource=make_resource(
            "FailingStartConnector", autoRestart={"initialBackoff": "1s", "maxBackoff": "2s", "maxRestarts": 2}
        ),
        repository=repository,
        call_runner=run_inline,
    )
    await runtime.start()
    await asyncio.sleep(600)
    assert samples.FailingStartConnector.attempts == 3  # the first start and two restarts
    assert runtime.status is ConnectorStatus.FAILED
    assert any(r.message_id == "METAFERRY-RUNTIME-0012" for r in runtime.audit_log.records())
    runtime.request_restart()
    await asyncio.sleep(0.1)
    assert samples.FailingStartConnector.attempts == 4, "a restart request still works after restarts ran out"
    await runtime.shutdown()


async def test_configuration_errors_are_config_failed_and_not_restarted(repository: MetadataRepository) -> None:
    runtime = ConnectorRuntime(
        resource=make_resource("BadConfigConnector", autoRestart={"initialBackoff": "1s"}), repository=repository
    )
    await runtime.start()
    assert runtime.status is ConnectorStatus.CONFIG_FAILED
    assert runtime.report().last_error == "ConnectorConfigurationError: the endpoint is missing"
    assert runtime._restarts.due_at is None
    assert not runtime.is_ready
    await runtime.shutdown()


async def test_a_connector_whose_constructor_raises_is_initialize_failed_and_restarted(
    repository: MetadataRepository,
) -> None:
    runtime = ConnectorRuntime(
        resource=make_resource("RaisingConstructorConnector", autoRestart={"initialBackoff": "1h"}),
        repository=repository,
    )
    await runtime.start()
    report = runtime.report()
    assert report.status is ConnectorStatus.INITIALIZE_FAILED
    assert "the client library could not be set up" in (report.last_error or "")
    assert runtime._restarts.due_at is not None, "a restart is scheduled"
    await runtime.shutdown()


@pytest.mark.parametrize(
    ("connector", "expected"),
    [
        ("no-such-connector", "no connector named 'no-such-connector' in entry-point group 'metaferry.connectors'"),
        ("tests.runtime.sample_connectors:Missing", "has no attribute 'Missing'"),
        ("tests.runtime.sample_connectors:NotAConnector", "is not a subclass of"),
        ("no_such_module_anywhere:Thing", "cannot import module 'no_such_module_anywhere'"),
    ],
)
async def test_unknown_or_wrong_connectors_are_config_failed_with_what_was_looked_for(
    repository: MetadataRepository, connector: str, expected: str
) -> None:
    runtime = ConnectorRuntime(resource=make_resource(connector), repository=repository)
    await runtime.start()
    assert runtime.status is ConnectorStatus.CONFIG_FAILED
    assert expected in (runtime.report().last_error or "")
    if connector == "no-such-connector":
        installed = (runtime.report().last_error or "").partition("; installed: ")[2]
        assert "directory-monitor" in installed.split(", "), "the message lists the installed connectors"
    await runtime.shutdown()


async def test_a_failing_refresh_rolls_back_and_masks_secrets(repository: MetadataRepository) -> None:
    runtime = ConnectorRuntime(
        resource=make_resource(
            "WritingConnector",
            connection={"configurationProperties": {"elements": 5, "failAfterWriting": True}},
            autoRestart={"enabled": False},
        ),
        repository=repository,
        secured_properties={"password": "hunter2-very-secret"},
    )
    await runtime.start()
    await wait_for_async(lambda: runtime.failed_refresh_count == 1)
    report = runtime.report()
    assert report.status is ConnectorStatus.FAILED
    assert report.last_error == "RuntimeError: failing on purpose with secret ****"
    assert report.last_refresh is not None and report.last_refresh.result is RefreshResult.FAILED
    with repository.transaction(actor="reader") as transaction:
        assert transaction.find_elements(type_name="DataFile") == [], "nothing of the failed batch is left"
    rendered = "".join(r.to_json() for r in runtime.audit_log.records()) + report.model_dump_json()
    assert "hunter2-very-secret" not in rendered
    await runtime.shutdown()


async def test_a_successful_refresh_commits_and_reports_statistics(repository: MetadataRepository) -> None:
    runtime = ConnectorRuntime(
        resource=make_resource("WritingConnector", connection={"configurationProperties": {"elements": 4}}),
        repository=repository,
    )
    await runtime.start()
    await wait_for_async(lambda: runtime.refresh_count == 1)
    assert runtime.report().statistics.created == 4
    runtime.request_refresh()
    await wait_for_async(lambda: runtime.refresh_count == 2)
    statistics = runtime.report().statistics
    assert (statistics.created, statistics.unchanged) == (0, 4)
    await runtime.shutdown()


async def test_a_refresh_past_its_timeout_is_failed_and_abandoned(repository: MetadataRepository) -> None:
    samples.HangingConnector.reset()
    runtime = ConnectorRuntime(
        resource=make_resource("HangingConnector", refreshTimeout="1s", autoRestart={"initialBackoff": "1h"}),
        repository=repository,
        settings=FAST_SHUTDOWN,
    )
    await runtime.start()
    await wait_for_async(lambda: runtime.failed_refresh_count == 1, timeout=15)
    report = runtime.report()
    assert report.status is ConnectorStatus.FAILED
    assert report.last_refresh is not None and report.last_refresh.result is RefreshResult.TIMED_OUT
    assert "did not finish within 1s" in (report.last_error or "")
    samples.HangingConnector.release.set()
    await runtime.shutdown()


async def test_shutdown_during_a_hung_refresh_disconnects_within_the_grace_period(
    repository: MetadataRepository,
) -> None:
    samples.HangingConnector.reset()
    runtime = ConnectorRuntime(
        resource=make_resource("HangingConnector"), repository=repository, settings=FAST_SHUTDOWN
    )
    await runtime.start()
    await asyncio.to_thread(samples.HangingConnector.in_call.wait, 10)
    loop = asyncio.get_running_loop()
    began = loop.time()
    await runtime.shutdown()
    assert loop.time() - began < 5, "shutdown is bounded by the grace period, not by the hung call"
    assert samples.HangingConnector.disconnected.is_set()
    assert runtime.status is ConnectorStatus.DISCONNECTED
    samples.HangingConnector.release.set()


async def test_shutdown_during_a_blocked_engage_is_bounded(repository: MetadataRepository) -> None:
    samples.HangingConnector.reset()
    runtime = ConnectorRuntime(
        resource=make_resource("HangingConnector", usesBlockingCalls=True, refreshInterval="0"),
        repository=repository,
        settings=FAST_SHUTDOWN,
    )
    await runtime.start()
    await asyncio.to_thread(samples.HangingConnector.in_call.wait, 10)
    began = asyncio.get_running_loop().time()
    await runtime.shutdown()
    assert asyncio.get_running_loop().time() - began < 6
    assert samples.HangingConnector.disconnected.is_set()
    assert any(r.message_id == "METAFERRY-RUNTIME-0016" for r in runtime.audit_log.records())
    samples.HangingConnector.release.set()


async def test_the_context_refuses_every_call_after_disconnect(repository: MetadataRepository) -> None:
    samples.RecordingConnector.reset()
    runtime = ConnectorRuntime(resource=make_resource("RecordingConnector"), repository=repository)
    await runtime.start()
    await wait_for_async(lambda: runtime.refresh_count == 1)
    context = samples.RecordingConnector.instances[-1].context
    await runtime.shutdown()
    with pytest.raises(ContextDisconnected):
        context.get_catalog_targets()
    with pytest.raises(ContextDisconnected), context._transaction():
        pass


async def test_engage_is_called_in_a_loop_on_its_own_thread(repository: MetadataRepository) -> None:
    samples.EngagingConnector.reset()
    runtime = ConnectorRuntime(
        resource=make_resource("EngagingConnector", usesBlockingCalls=True),
        repository=repository,
        settings=FAST_SHUTDOWN,
    )
    await runtime.start()
    assert runtime.status in (ConnectorStatus.RUNNING, ConnectorStatus.REFRESHING)
    await wait_for_async(lambda: samples.EngagingConnector.engagements >= 3)
    await wait_for_async(lambda: runtime.status is ConnectorStatus.RUNNING)
    await runtime.shutdown()
    count = samples.EngagingConnector.engagements
    await asyncio.sleep(0.1)
    assert samples.EngagingConnector.engagements == count, "engage is not called after disconnect"


async def test_an_engage_failure_restarts_the_connector(repository: MetadataRepository) -> None:
    samples.EngagingConnector.reset(fail_at=2)
    runtime = ConnectorRuntime(
        resource=make_resource("EngagingConnector", usesBlockingCalls=True, autoRestart={"initialBackoff": "10ms"}),
        repository=repository,
        settings=FAST_SHUTDOWN,
    )
    await runtime.start()
    await wait_for_async(lambda: runtime.restart_count == 1 and runtime.status is ConnectorStatus.RUNNING)
    assert "engage failed" in (runtime.report().last_error or "")
    await wait_for_async(lambda: samples.EngagingConnector.engagements >= 4)
    await runtime.shutdown()


async def test_a_restart_request_abandons_a_running_refresh(repository: MetadataRepository) -> None:
    samples.HangingConnector.reset()
    runtime = ConnectorRuntime(
        resource=make_resource("HangingConnector"), repository=repository, settings=FAST_SHUTDOWN
    )
    await runtime.start()
    await asyncio.to_thread(samples.HangingConnector.in_call.wait, 10)
    runtime.request_restart()
    await wait_for_async(lambda: runtime.restart_count == 1)
    assert runtime.failed_refresh_count == 1
    samples.HangingConnector.release.set()
    await runtime.shutdown()


async def test_a_secret_ref_without_its_secured_properties_is_config_failed_naming_the_secret(
    repository: MetadataRepository,
) -> None:
    resource = make_resource("WritingConnector", connection={"secretRef": {"name": "db-credentials"}})
    runtime = ConnectorRuntime(resource=resource, repository=repository)
    await runtime.start()
    report = runtime.report()
    assert report.status is ConnectorStatus.CONFIG_FAILED
    assert "Secret 'db-credentials'" in (report.last_error or "")
    assert "--secrets-dir" in (report.last_error or "") and "METAFERRY_SECRETS_DIR" in (report.last_error or "")
    assert runtime.audit_log.records()[-1].message_id == "METAFERRY-RUNTIME-0022"
    assert report.refresh_count == 0
    await runtime.shutdown()
