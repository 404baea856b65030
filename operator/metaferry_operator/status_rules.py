"""The status stanza of one connector, computed in one place from what the reconciler observed.

Flux style: the reconciler runs its steps and records what it saw in :class:`Observed`; :func:`compute`
then summarises once. ``Ready`` is always present; ``Reconciling`` and ``Stalled`` only while true
(kstatus reads Reconciling=True as InProgress, Stalled=True as Failed). A condition keeps its
``lastTransitionTime`` while its status stays the same, and the result is compared with the previous
status so an unchanged connector causes no write. Events worth a line in ``kubectl describe`` (refresh
finished or failed, an archive the deletion fail-safe refused, restarts, configuration errors, readiness
changes) are derived from the same comparison, so they need no memory in the operator.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from metaferry_operator import naming
from metaferry_operator.actions import Action
from metaferry_operator.json_types import Json
from metaferry_operator.observation import DeploymentObservation, PodObservation
from metaferry_runtime.report import (
    ConnectorReport,
    ConnectorStatus,
    RefreshRequestOutcome,
    RefreshResult,
    RequestState,
)
from metaferry_runtime.resource import Phase, RequestedRefreshResult, format_duration

READY, RECONCILING, STALLED = "Ready", "Reconciling", "Stalled"
REQUESTED_REFRESH = "lastRequestedRefresh"


@dataclasses.dataclass(frozen=True)
class Event:
    type: str  # Normal or Warning
    reason: str
    message: str


@dataclasses.dataclass(frozen=True)
class Observed:
    """Everything one reconcile pass learnt; each field is set by one step."""

    generation: int
    suspended: bool
    desired_hash: str | None = None
    spec_error: str | None = None  # the spec is invalid: nothing to do until it is edited
    secret_missing: str | None = None  # name of the referenced Secret that does not exist
    repository_error: str | None = None  # the shared repository does not answer (no pod started or rolled)
    apply_error: str | None = None  # the children could not be written (retried with backoff)
    deployment: DeploymentObservation | None = None
    pod: PodObservation | None = None
    report: ConnectorReport | None = None
    runtime_error: str | None = None  # the runtime did not answer GET /status
    handled: Mapping[str, str] = dataclasses.field(default_factory=dict)  # status field -> token
    requested_refresh: Json | None = None  # a new status.lastRequestedRefresh (accepted, or how it ended)


@dataclasses.dataclass(frozen=True)
class _Verdict:
    ready: bool
    reason: str
    message: str
    phase: Phase
    reconciling: bool = False
    stalled: bool = False


def _verdict(seen: Observed) -> _Verdict:
    """The first matching rule wins; the rules are ordered from "the user must act" to "all is well"."""
    pod, report = seen.pod, seen.report
    if seen.spec_error:
        return _Verdict(False, "InvalidSpec", seen.spec_error, Phase.FAILED, stalled=True)
    if seen.suspended:
        return _Verdict(
            False, "Suspended", "the connector is suspended (spec.suspend: true); its pod is stopped", Phase.SUSPENDED
        )
    if seen.secret_missing:
        return _Verdict(
            False,
            "SecretNotFound",
            f"Secret {seen.secret_missing!r} (spec.connection.secretRef) does not exist in this namespace",
            Phase.FAILED,
            stalled=True,
        )
    if seen.repository_error:
        return _Verdict(False, "RepositoryUnavailable", seen.repository_error, Phase.PENDING, reconciling=True)
    if seen.apply_error:
        return _Verdict(
            False,
            "ApplyFailed",
            f"cannot write the connector's children: {seen.apply_error}",
            Phase.FAILED,
            reconciling=True,
        )
    if report is not None and report.status is ConnectorStatus.CONFIG_FAILED:
        return _Verdict(
            False,
            report.failure_reason or "ConfigFailed",
            report.last_error or "the connector refused its configuration",
            Phase.FAILED,
            stalled=True,
        )
    if pod is None:
        return _Verdict(
            False, "Progressing", "waiting for the runtime pod to be created", Phase.PENDING, reconciling=True
        )
    if pod.failing:
        detail = pod.waiting_message or pod.terminated_reason or pod.phase
        return _Verdict(
            False,
            pod.waiting_reason or "PodFailed",
            f"runtime pod {pod.name} is failing ({pod.restart_count} restarts): {detail}",
            Phase.FAILED,
        )
    if not pod.running or pod.ip is None:
        return _Verdict(
            False,
            "Progressing",
            f"waiting for runtime pod {pod.name} to start ({pod.phase})",
            Phase.PENDING,
            reconciling=True,
        )
    if seen.desired_hash is not None and pod.config_hash != seen.desired_hash:
        return _Verdict(
            False,
            "Progressing",
            f"rolling the runtime pod to the new configuration ({pod.name} runs the previous one)",
            Phase.PENDING,
            reconciling=True,
        )
    if report is None:
        return _Verdict(
            False,
            "RuntimeUnreachable",
            f"runtime pod {pod.name} does not answer: {seen.runtime_error or 'no report yet'}",
            Phase.DEGRADED,
        )
    if report.status.is_failure:
        return _Verdict(
            False, "ConnectorFailed", report.last_error or f"the connector is {report.status.value}", Phase.FAILED
        )
    if not pod.ready:
        return _Verdict(
            False,
            "Progressing",
            f"the runtime is starting the connector ({report.status.value})",
            Phase.PENDING,
            reconciling=True,
        )
    last = report.last_refresh
    if last is not None and last.result is not RefreshResult.SUCCEEDED:
        return _Verdict(
            False, "RefreshFailed", f"the last refresh {last.result.value}: {last.error or ''}".strip(), Phase.DEGRADED
        )
    phase = Phase.REFRESHING if report.status is ConnectorStatus.REFRESHING else Phase.RUNNING
    return _Verdict(True, "Succeeded", f"connector {report.status.value}; {report.refresh_count} refreshes", phase)


def _condition(
    previous: Mapping[str, Json], *, kind: str, status: str, reason: str, message: str, generation: int, now: datetime
) -> Json:
    """A metav1.Condition; the transition time moves only when the status flips."""
    old = previous.get(kind)
    since = old["lastTransitionTime"] if old and old.get("status") == status else _timestamp(now)
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message[:32768],
        "lastTransitionTime": since,
        "observedGeneration": generation,
    }


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _precise_timestamp(moment: datetime) -> str:
    """To the millisecond: a requested refresh's start and end tell how long it took, often under a second."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _report_fields(report: ConnectorReport) -> Json:
    fields: Json = {
        "connectorStatus": report.status.value,
        "refreshCount": report.refresh_count,
        "failedRefreshCount": report.failed_refresh_count,
        "restartCount": report.restart_count,
        "statistics": report.statistics.to_wire(),
    }
    if report.last_refresh_time is not None:
        fields["lastRefreshTime"] = _timestamp(report.last_refresh_time)
    if report.last_refresh_duration_seconds is not None:
        fields["lastRefreshDuration"] = format_duration(timedelta(seconds=report.last_refresh_duration_seconds))
    if report.next_refresh_time is not None:
        fields["nextRefreshTime"] = _timestamp(report.next_refresh_time)
    if report.last_error:
        fields["lastError"] = report.last_error[:4096]
    if report.archive_refused is not None:
        fields["archiveRefused"] = report.archive_refused.to_wire()
    return fields


_HISTORY = (
    "refreshCount",
    "failedRefreshCount",
    "restartCount",
    "lastRefreshTime",
    "lastRefreshDuration",
    "lastError",
    "statistics",
    "archiveRefused",
)


def compute(*, seen: Observed, previous: Mapping[str, Any], now: datetime) -> Json:
    """The new status (wire form). Without a fresh report the refresh history is kept as last seen:
    it is history, not a claim about the present; the present is in the conditions and the phase."""
    verdict = _verdict(seen)
    conditions = {c["type"]: c for c in previous.get("conditions") or [] if "type" in c}
    status: Json = {"observedGeneration": seen.generation}
    new_conditions = [
        _condition(
            conditions,
            kind=READY,
            status="True" if verdict.ready else "False",
            reason=verdict.reason,
            message=verdict.message,
            generation=seen.generation,
            now=now,
        )
    ]
    if verdict.reconciling:
        new_conditions.append(
            _condition(
                conditions,
                kind=RECONCILING,
                status="True",
                reason=verdict.reason,
                message=verdict.message,
                generation=seen.generation,
                now=now,
            )
        )
    if verdict.stalled:
        new_conditions.append(
            _condition(
                conditions,
                kind=STALLED,
                status="True",
                reason=verdict.reason,
                message=verdict.message,
                generation=seen.generation,
                now=now,
            )
        )
    status["conditions"] = new_conditions
    status["phase"] = verdict.phase.value
    if seen.pod is not None and not seen.suspended:
        status["podName"] = seen.pod.name
    if seen.report is not None and not seen.suspended:
        status.update(_report_fields(seen.report))
    else:
        status.update({key: previous[key] for key in _HISTORY if key in previous})
        if seen.suspended:
            status["connectorStatus"] = ConnectorStatus.STOPPED.value
        elif previous.get("connectorStatus"):
            status["connectorStatus"] = ConnectorStatus.DISCONNECTED.value
    for field in (action.status_field for action in Action):
        value = seen.handled.get(field, previous.get(field))
        if value is not None:
            status[field] = value
    requested = seen.requested_refresh or previous.get(REQUESTED_REFRESH)
    if requested is not None:
        status[REQUESTED_REFRESH] = requested
    return status


def merge_patch(previous: Mapping[str, Any], new: Mapping[str, Any]) -> Json | None:
    """A JSON merge patch (RFC 7386) turning ``previous`` into ``new``, or None when nothing changed: an
    unchanged connector costs no write. Objects are patched key by key, so a key ``new`` lacks is removed
    (set to null), also inside an object; lists are replaced whole."""
    patch = _object_patch(previous, new)
    return patch or None


def _object_patch(previous: Mapping[str, Any], new: Mapping[str, Any]) -> Json:
    patch: Json = {}
    for key, value in new.items():
        old = previous.get(key)
        if old == value:
            continue
        patch[key] = _object_patch(old, value) if isinstance(old, Mapping) and isinstance(value, Mapping) else value
    patch.update({key: None for key in previous if key not in new})
    return patch


def events(*, previous: Mapping[str, Any], new: Mapping[str, Any]) -> list[Event]:
    """What changed between two statuses, as Kubernetes Events for ``kubectl describe``."""
    found: list[Event] = []
    refreshes = _grew(previous, new, "refreshCount")
    failures = _grew(previous, new, "failedRefreshCount")
    if failures:
        found.append(Event("Warning", "RefreshFailed", f"refresh failed: {new.get('lastError') or 'no detail'}"))
    if refreshes > failures:
        stats = new.get("statistics") or {}
        found.append(
            Event(
                "Normal",
                "RefreshSucceeded",
                (
                    f"refresh {new.get('refreshCount')} finished in {new.get('lastRefreshDuration', '?')}: "
                    f"{stats.get('created', 0)} created, {stats.get('updated', 0)} updated, "
                    f"{stats.get('archived', 0)} archived"
                ),
            )
        )
    refused = new.get("archiveRefused")
    if refreshes > failures and isinstance(refused, Mapping):
        found.append(Event("Warning", "ArchiveRefused", _archive_refused_message(refused)))
    if _grew(previous, new, "restartCount"):
        found.append(
            Event(
                "Warning",
                "ConnectorRestarted",
                f"the runtime restarted the connector (restart {new.get('restartCount')})",
            )
        )
    found.extend(_requested_refresh_events(previous.get(REQUESTED_REFRESH), new.get(REQUESTED_REFRESH)))
    old_ready, new_ready = _ready(previous), _ready(new)
    if new_ready and (
        old_ready is None
        or old_ready.get("status") != new_ready["status"]
        or old_ready.get("reason") != new_ready["reason"]
    ):
        kind = (
            "Normal"
            if new_ready["status"] == "True" or new_ready["reason"] in ("Progressing", "Suspended")
            else "Warning"
        )
        reason = "Ready" if new_ready["status"] == "True" else new_ready["reason"]
        found.append(Event(kind, reason, new_ready["message"]))
    return found


def _requested_refresh_events(old: Any, new: Any) -> list[Event]:
    """One Event when a requested refresh ends, naming the request; one when a newer request is handled
    before the older one's refresh ended."""
    if not isinstance(new, Mapping):
        return []
    found: list[Event] = []
    named = f"{naming.REFRESH_ANNOTATION}={new.get('requestedAt')}"
    if isinstance(old, Mapping) and not old.get("result") and old.get("requestedAt") != new.get("requestedAt"):
        found.append(
            Event(
                "Normal",
                "RequestedRefreshSuperseded",
                f"request {naming.REFRESH_ANNOTATION}={old.get('requestedAt')} was superseded by {named}"
                " before its refresh ended",
            )
        )
    result = new.get("result")
    told = isinstance(old, Mapping) and old.get("requestedAt") == new.get("requestedAt") and old.get("result")
    if not result or told:
        return found
    refresh = f"refresh {new['refreshId']}" if new.get("refreshId") else "the refresh"
    if result == RequestedRefreshResult.SUCCEEDED:
        stats = new.get("statistics") or {}
        found.append(
            Event(
                "Normal",
                "RequestedRefreshSucceeded",
                f"{refresh} requested by {named} succeeded: {stats.get('created', 0)} created, "
                f"{stats.get('updated', 0)} updated, {stats.get('archived', 0)} archived",
            )
        )
    elif result == RequestedRefreshResult.FAILED:
        detail = new.get("message") or "no detail"
        found.append(Event("Warning", "RequestedRefreshFailed", f"{refresh} requested by {named} failed: {detail}"))
    else:
        detail = new.get("message") or "something took its place"
        found.append(Event("Normal", "RequestedRefreshSuperseded", f"request {named} was superseded: {detail}"))
    return found


def requested_refresh_outcome(requested: Mapping[str, Any], outcome: RefreshRequestOutcome | None) -> Json | None:
    """status.lastRequestedRefresh once the runtime says how that request ended (None: not yet). No record of
    it (None): the runtime pod was replaced, and the new one's start refresh took its place."""
    if outcome is None:
        return {
            **requested,
            "result": RequestedRefreshResult.SUPERSEDED.value,
            "message": "the runtime pod was replaced before its refresh ended; the new pod refreshes at start",
        }
    if not outcome.state.is_final:
        return None
    result = {
        RequestState.SUCCEEDED: RequestedRefreshResult.SUCCEEDED,
        RequestState.FAILED: RequestedRefreshResult.FAILED,
    }.get(outcome.state, RequestedRefreshResult.SUPERSEDED)
    ended: Json = {"requestedAt": requested["requestedAt"], "refreshId": outcome.refresh_id, "result": result.value}
    if outcome.started_at is not None:
        ended["startedAt"] = _precise_timestamp(outcome.started_at)
    if outcome.finished_at is not None:
        ended["finishedAt"] = _precise_timestamp(outcome.finished_at)
    if outcome.statistics is not None:
        ended["statistics"] = outcome.statistics.to_wire()
    if outcome.error:
        ended["message"] = outcome.error[:4096]
    return ended


def _archive_refused_message(refused: Mapping[str, Any]) -> str:
    return (
        f"the deletion fail-safe refused to archive {refused.get('wouldArchive')} of the {refused.get('inScope')}"
        f" elements in scope (above maxArchivePercent {refused.get('maxArchivePercent')}%) in refresh"
        f" {refused.get('refreshId')}; its creates and updates were committed. If they are really gone, confirm"
        f" once with {naming.CONFIRM_ARCHIVE_ANNOTATION}=<new value>, or raise spec.deletionDetection"
        f".maxArchivePercent ({refused.get('messageId')})"
    )


def _grew(previous: Mapping[str, Any], new: Mapping[str, Any], field: str) -> int:
    before, after = previous.get(field) or 0, new.get(field)
    if not isinstance(after, int) or not isinstance(before, int):
        return 0
    return max(after - before, 0)


def _ready(status: Mapping[str, Any]) -> Json | None:
    return next((c for c in status.get("conditions") or [] if c.get("type") == READY), None)
