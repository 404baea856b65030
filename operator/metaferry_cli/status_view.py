"""`metaferry status` for people: one connector as `kubectl describe` would tell it, or a table of them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, Protocol

from metaferry_operator.json_types import Json


class Painter(Protocol):
    def result(self, value: str) -> str: ...


def summary_rows(
    connectors: Sequence[Json], *, all_namespaces: bool, now: datetime
) -> tuple[list[str], list[list[str]]]:
    """The columns of `kubectl get ic`, plus the next refresh and the last requested refresh's result."""
    header = ["NAME", "SERVICE", "CONNECTOR", "PHASE", "LAST REFRESH", "NEXT REFRESH", "REQUESTED", "AGE"]
    if all_namespaces:
        header.insert(0, "NAMESPACE")
    rows = []
    for body in connectors:
        meta, spec, status = body.get("metadata") or {}, body.get("spec") or {}, body.get("status") or {}
        requested = status.get("lastRequestedRefresh") or {}
        row = [
            str(meta.get("name")),
            str(spec.get("integrationService") or ""),
            str(status.get("connectorStatus") or ""),
            "Suspended" if spec.get("suspend") else str(status.get("phase") or "Pending"),
            age(status.get("lastRefreshTime"), now, suffix=" ago"),
            until(status.get("nextRefreshTime"), now),
            str(requested.get("result") or ("Running" if requested else "")),
            age(meta.get("creationTimestamp"), now),
        ]
        rows.append([str(meta.get("namespace")), *row] if all_namespaces else row)
    return header, rows


def describe(body: Json, events: Sequence[Json], *, now: datetime, paint: Painter) -> Iterator[str]:
    """The lines of one connector's summary, most useful first: is it well, what did it last do, why not."""
    meta, spec, status = body.get("metadata") or {}, body.get("spec") or {}, body.get("status") or {}
    yield f"Name:              {meta.get('name')}"
    yield f"Namespace:         {meta.get('namespace')}"
    yield f"Connector:         {spec.get('connector')} ({spec.get('integrationService')} service)"
    phase = "Suspended" if spec.get("suspend") else str(status.get("phase") or "Pending")
    yield f"Phase:             {paint.result(phase)}"
    yield f"Connector status:  {status.get('connectorStatus') or '(not reported yet)'}"
    if status.get("podName"):
        yield f"Pod:               {status['podName']}"
    last = status.get("lastRefreshTime")
    counts = f"{status.get('refreshCount') or 0} refreshes, {status.get('failedRefreshCount') or 0} failed"
    if last:
        took = status.get("lastRefreshDuration")
        yield f"Last refresh:      {last} ({age(last, now, suffix=' ago')}{f', took {took}' if took else ''}); {counts}"
    else:
        yield f"Last refresh:      none yet; {counts}"
    if status.get("statistics"):
        yield f"  statistics:      {_statistics(status['statistics'])}"
    yield f"Next refresh:      {_next(spec, status, now)}"
    yield f"Restarts:          {status.get('restartCount') or 0}"
    if status.get("lastError"):
        yield f"Last error:        {status['lastError']}"
    requested = status.get("lastRequestedRefresh")
    if requested:
        result, refresh_id = requested.get("result"), requested.get("refreshId")
        yield (
            f"Requested refresh: {requested.get('requestedAt')} -> "
            f"{paint.result(result) if result else 'running'}"
            f"{f' (refresh {refresh_id})' if refresh_id else ''}"
        )
        if requested.get("statistics"):
            yield f"  statistics:      {_statistics(requested['statistics'])}"
        if requested.get("message"):
            yield f"  message:         {requested['message']}"
    refused = status.get("archiveRefused")
    if refused:
        yield f"Archive refused:   {refused.get('message') or refused.get('refreshId')}"
    yield "Conditions:"
    conditions = status.get("conditions") or []
    if not conditions:
        yield "  (none yet)"
    for condition in conditions:
        message = condition.get("message") or ""
        yield (
            f"  {condition.get('type')}={paint.result(str(condition.get('status')))} "
            f"{condition.get('reason')}{f': {message}' if message else ''}"
        )
    yield f"Events ({len(events)} most recent):" if events else "Events:            (none)"
    for event in events:
        when = event.get("lastTimestamp") or event.get("eventTime")
        count = event.get("count") or 1
        yield (
            f"  {age(when, now, suffix=' ago'):>9}  {event.get('type'):<7} {event.get('reason')}"
            f"{f' (x{count})' if count > 1 else ''}: {event.get('message')}"
        )


def _statistics(statistics: Json) -> str:
    counts = ("created", "updated", "unchanged", "archived", "deleted")
    return ", ".join(f"{statistics.get(key, 0)} {key}" for key in counts)


def _next(spec: Json, status: Json, now: datetime) -> str:
    if spec.get("suspend"):
        return "none while suspended"
    when = status.get("nextRefreshTime")
    if when:
        return f"{when} ({until(when, now)})"
    return "only on request" if not spec.get("refreshInterval") else "not scheduled yet"


def age(when: Any, now: datetime, *, suffix: str = "") -> str:
    """`kubectl`'s short ages: 45s, 3m, 2h, 5d."""
    if not when:
        return ""
    seconds = int((now - _parse(str(when))).total_seconds())
    return _short(max(seconds, 0)) + suffix


def until(when: Any, now: datetime) -> str:
    if not when:
        return ""
    seconds = int((_parse(str(when)) - now).total_seconds())
    return f"in {_short(seconds)}" if seconds > 0 else "due"


def _short(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size * (2 if unit != "m" else 1):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
