"""Status computation: one summary from what a pass observed (pure, no cluster)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from metaferry_operator import status_rules
from metaferry_operator.observation import current_pod, observe_pod
from metaferry_runtime.report import ConnectorStatus, RefreshRecord, RefreshRequestOutcome, RefreshResult, RequestState
from metaferry_runtime.resource import ArchiveRefusal, RefreshStatistics
from tests.operator.builders import NOW, pod, pod_json, report


def _compute(previous: dict[str, Any] | None = None, **seen: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"generation": 3, "suspended": False, "desired_hash": "h"}
    values.update(seen)
    return status_rules.compute(seen=status_rules.Observed(**values), previous=previous or {}, now=NOW)


def _conditions(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in result["conditions"]}


def test_a_ready_runtime_with_a_report_is_ready() -> None:
    result = _compute(pod=pod(), report=report(refresh_count=4, last_refresh_duration_seconds=1.5))
    ready = _conditions(result)["Ready"]
    assert (ready["status"], ready["reason"], ready["observedGeneration"]) == ("True", "Succeeded", 3)
    assert set(_conditions(result)) == {"Ready"}  # Reconciling and Stalled only while true
    assert result["phase"] == "Running"
    assert result["connectorStatus"] == "WAITING"
    assert result["refreshCount"] == 4
    assert result["lastRefreshDuration"] == "1.5s"
    assert result["podName"] == "files-runtime-abc"
    assert result["observedGeneration"] == 3


def test_no_pod_yet_is_reconciling() -> None:
    conditions = _conditions(_compute())
    assert conditions["Ready"]["status"] == "False"
    assert conditions["Reconciling"]["reason"] == "Progressing"


def test_a_pod_running_the_previous_configuration_is_reconciling() -> None:
    result = _compute(pod=pod(config_hash="old"), report=report())
    assert _conditions(result)["Reconciling"]["status"] == "True"
    assert result["phase"] == "Pending"


def test_a_crash_looping_pod_is_not_ready_and_says_why() -> None:
    observed = current_pod([observe_pod(pod_json(ready=False, waiting="CrashLoopBackOff"))])
    result = _compute(pod=observed)
    ready = _conditions(result)["Ready"]
    assert (ready["status"], ready["reason"]) == ("False", "CrashLoopBackOff")
    assert "2 restarts" in ready["message"]
    assert result["phase"] == "Failed"


def test_an_unreachable_runtime_is_not_ready_and_keeps_history_but_not_the_running_claim() -> None:
    previous = _compute(pod=pod(), report=report(status=ConnectorStatus.RUNNING, refresh_count=7))
    result = _compute(previous, pod=pod(), runtime_error="GET /status timed out")
    ready = _conditions(result)["Ready"]
    assert (ready["status"], ready["reason"]) == ("False", "RuntimeUnreachable")
    assert "timed out" in ready["message"]
    assert result["refreshCount"] == 7
    assert result["connectorStatus"] == "DISCONNECTED"
    assert result["phase"] == "Degraded"


def test_configuration_failures_are_stalled() -> None:
    result = _compute(
        pod=pod(ready=False),
        report=report(status=ConnectorStatus.CONFIG_FAILED, last_error="endpoint is not a directory"),
    )
    conditions = _conditions(result)
    assert conditions["Stalled"]["reason"] == "ConfigFailed"
    assert conditions["Ready"]["message"] == "endpoint is not a directory"
    assert "Reconciling" not in conditions


def test_invalid_configuration_properties_are_stalled_with_their_own_reason() -> None:
    message = "invalid configuration properties: spec.connection.configurationProperties.maxDepth: ..."
    result = _compute(
        pod=pod(ready=False),
        report=report(status=ConnectorStatus.CONFIG_FAILED, last_error=message, failure_reason="InvalidConfiguration"),
    )
    conditions = _conditions(result)
    assert conditions["Stalled"]["reason"] == "InvalidConfiguration"
    assert conditions["Ready"]["reason"] == "InvalidConfiguration"
    assert conditions["Ready"]["message"] == message


def test_a_failed_last_refresh_is_not_ready() -> None:
    record = RefreshRecord(
        refresh_id="r",
        trigger="request",
        started=NOW,
        duration_seconds=1,
        result=RefreshResult.FAILED,
        statistics=RefreshStatistics(),
        error="disk gone",
    )
    ready = _conditions(_compute(pod=pod(), report=report(last_refresh=record)))["Ready"]
    assert (ready["status"], ready["reason"]) == ("False", "RefreshFailed")


def test_suspended_is_not_ready_with_reason_suspended() -> None:
    result = _compute(suspended=True)
    ready = _conditions(result)["Ready"]
    assert (ready["status"], ready["reason"]) == ("False", "Suspended")
    assert result["phase"] == "Suspended"
    assert result["connectorStatus"] == "STOPPED"
    assert "podName" not in result


def test_a_missing_secret_and_an_invalid_spec_are_stalled() -> None:
    assert _conditions(_compute(secret_missing="creds"))["Stalled"]["reason"] == "SecretNotFound"
    assert _conditions(_compute(spec_error="spec.x: bad"))["Stalled"]["reason"] == "InvalidSpec"


def test_the_transition_time_moves_only_when_the_status_flips() -> None:
    first = _compute(pod=pod(), report=report(refresh_count=1))
    later = status_rules.compute(
        seen=status_rules.Observed(
            generation=3, suspended=False, desired_hash="h", pod=pod(), report=report(refresh_count=2)
        ),
        previous=first,
        now=NOW + timedelta(minutes=5),
    )
    assert _conditions(later)["Ready"]["lastTransitionTime"] == _conditions(first)["Ready"]["lastTransitionTime"]
    flipped = status_rules.compute(
        seen=status_rules.Observed(generation=3, suspended=True), previous=later, now=NOW + timedelta(minutes=6)
    )
    assert _conditions(flipped)["Ready"]["lastTransitionTime"] == "2030-01-02T03:10:05Z"


def test_an_unchanged_connector_needs_no_write_and_removed_fields_are_nulled() -> None:
    first = _compute(pod=pod(), report=report())
    assert status_rules.merge_patch(first, _compute(first, pod=pod(), report=report())) is None
    suspended = _compute(first, suspended=True)
    patch = status_rules.merge_patch(first, suspended)
    assert patch is not None
    assert patch["podName"] is None


def test_handled_tokens_are_echoed_and_kept() -> None:
    result = _compute(handled={"lastHandledRefreshAt": "t1"})
    assert result["lastHandledRefreshAt"] == "t1"
    assert _compute(result)["lastHandledRefreshAt"] == "t1"


def test_events_tell_refreshes_failures_restarts_and_readiness() -> None:
    before = _compute(pod=pod(), report=report(refresh_count=1))
    after = _compute(
        before, pod=pod(), report=report(refresh_count=3, failed_refresh_count=1, restart_count=1, last_error="boom")
    )
    reasons = [event.reason for event in status_rules.events(previous=before, new=after)]
    assert reasons == ["RefreshFailed", "RefreshSucceeded", "ConnectorRestarted"]
    assert status_rules.events(previous=after, new=after) == []
    down = _compute(after, pod=pod(), runtime_error="refused")
    assert [(e.type, e.reason) for e in status_rules.events(previous=after, new=down)] == [
        ("Warning", "RuntimeUnreachable")
    ]


def _refused(refresh_id: str = "r2") -> ArchiveRefusal:
    return ArchiveRefusal(
        refresh_id=refresh_id,
        would_archive=7,
        in_scope=10,
        max_archive_percent=50,
        message_id="METAFERRY-RUNTIME-0023",
        message="The deletion fail-safe of connector files refused to archive 7 of the 10 ...",
    )


def test_an_archive_refused_by_the_fail_safe_is_in_status_and_a_warning_event_while_the_connector_stays_ready() -> None:
    before = _compute(pod=pod(), report=report(refresh_count=1))
    refused = report(
        refresh_count=2, statistics=RefreshStatistics(created=1, would_archive=7), archive_refused=_refused()
    )
    after = _compute(before, pod=pod(), report=refused)
    assert after["archiveRefused"] == {
        "refreshId": "r2",
        "wouldArchive": 7,
        "inScope": 10,
        "maxArchivePercent": 50,
        "messageId": "METAFERRY-RUNTIME-0023",
        "message": "The deletion fail-safe of connector files refused to archive 7 of the 10 ...",
    }
    ready = _conditions(after)["Ready"]
    assert (ready["status"], after["phase"], after["connectorStatus"]) == ("True", "Running", "WAITING")
    events = status_rules.events(previous=before, new=after)
    assert [(e.type, e.reason) for e in events] == [("Normal", "RefreshSucceeded"), ("Warning", "ArchiveRefused")]
    warning = events[1].message
    assert "refused to archive 7 of the 10" in warning and "metaferry.io/confirm-archive-requested-at" in warning
    assert status_rules.events(previous=after, new=_compute(after, pod=pod(), report=refused)) == []

    archived = _compute(after, pod=pod(), report=report(refresh_count=3, statistics=RefreshStatistics(archived=7)))
    patch = status_rules.merge_patch(after, archived)
    assert patch is not None and patch["archiveRefused"] is None, "cleared by a refresh that was not refused"
    assert "ArchiveRefused" not in [e.reason for e in status_rules.events(previous=after, new=archived)]


def test_a_refusal_is_kept_as_history_while_the_runtime_does_not_answer() -> None:
    refused = _compute(pod=pod(), report=report(refresh_count=2, archive_refused=_refused()))
    down = _compute(refused, pod=pod(), runtime_error="refused")
    assert down["archiveRefused"]["wouldArchive"] == 7


def test_a_handled_archive_confirmation_is_echoed_and_kept() -> None:
    result = _compute(handled={"lastHandledConfirmArchiveAt": "c1"})
    assert result["lastHandledConfirmArchiveAt"] == "c1"
    assert _compute(result)["lastHandledConfirmArchiveAt"] == "c1"


def test_a_new_requested_refresh_replaces_the_previous_one_whole_in_the_merge_patch() -> None:
    """A merge patch merges objects: the previous request's result must be nulled, not kept beside the new one."""
    ended = {"requestedAt": "first", "refreshId": "r1", "result": "Succeeded", "finishedAt": "2030-01-01T00:00:00Z"}
    previous = _compute(pod=pod(), report=report()) | {"lastRequestedRefresh": ended}
    accepted = {"requestedAt": "second", "refreshId": "r2"}
    new = _compute(previous, pod=pod(), report=report(), requested_refresh=accepted)
    patch = status_rules.merge_patch(previous, new)
    assert patch is not None
    assert patch["lastRequestedRefresh"] == {
        "requestedAt": "second",
        "refreshId": "r2",
        "result": None,
        "finishedAt": None,
    }


def test_a_requested_refresh_keeps_its_status_until_told_and_its_end_is_one_event() -> None:
    accepted = {"requestedAt": "t1", "refreshId": "r1"}
    previous = _compute(pod=pod(), report=report(), requested_refresh=accepted)
    assert _compute(previous, pod=pod(), report=report())["lastRequestedRefresh"] == accepted
    failed = accepted | {"result": "Failed", "message": "RuntimeError: boom"}
    new = _compute(previous, pod=pod(), report=report(), requested_refresh=failed)
    told = [e for e in status_rules.events(previous=previous, new=new) if e.reason.startswith("RequestedRefresh")]
    assert [(e.type, e.reason) for e in told] == [("Warning", "RequestedRefreshFailed")]
    assert "metaferry.io/refresh-requested-at=t1" in told[0].message and "boom" in told[0].message
    again = _compute(new, pod=pod(), report=report())
    assert not [e for e in status_rules.events(previous=new, new=again) if e.reason.startswith("RequestedRefresh")]


def test_a_request_handled_before_the_previous_one_ended_supersedes_it() -> None:
    previous = _compute(pod=pod(), report=report(), requested_refresh={"requestedAt": "older", "refreshId": "r1"})
    new = _compute(previous, pod=pod(), report=report(), requested_refresh={"requestedAt": "newer", "refreshId": "r1"})
    [superseded] = [e for e in status_rules.events(previous=previous, new=new) if e.reason.startswith("Requested")]
    assert superseded.reason == "RequestedRefreshSuperseded"
    assert "refresh-requested-at=older was superseded by metaferry.io/refresh-requested-at=newer" in superseded.message


def test_a_runtime_without_a_record_of_the_request_means_its_pod_was_replaced() -> None:
    ended = status_rules.requested_refresh_outcome({"requestedAt": "t", "refreshId": "r"}, None)
    assert ended is not None and ended["result"] == "Superseded" and "replaced" in ended["message"]


def test_a_requested_refresh_keeps_its_times_to_the_millisecond() -> None:
    """Whole seconds made a 0.4 s refresh look like 0 s or 1 s, and its end up to a second early."""
    outcome = RefreshRequestOutcome(
        request_id="t",
        refresh_id="r",
        state=RequestState.SUCCEEDED,
        started_at=NOW + timedelta(milliseconds=300),
        finished_at=NOW + timedelta(milliseconds=700),
        statistics=RefreshStatistics(created=2),
    )
    ended = status_rules.requested_refresh_outcome({"requestedAt": "t"}, outcome)
    assert ended is not None and ended["result"] == "Succeeded" and ended["statistics"]["created"] == 2
    assert ended["startedAt"] == (NOW + timedelta(milliseconds=300)).strftime("%Y-%m-%dT%H:%M:%S.300Z")
    assert ended["finishedAt"] == (NOW + timedelta(milliseconds=700)).strftime("%Y-%m-%dT%H:%M:%S.700Z")
