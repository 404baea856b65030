"""The run state a Process carries: its latest run and a bounded history, merged so order does not matter.

Producers send START, RUNNING, COMPLETE/FAIL/ABORT and OTHER events per run, and transports reorder and
repeat them. Each run's record is a join of what its events said: the start time is the earliest START, the
last event time the latest, and the state the most advanced transition (OTHER < START < RUNNING < a terminal
state; between two terminal states the later event wins, and at equal times the name decides). A join is
order-independent and idempotent, so a COMPLETE before its START, or the same event twice, ends in the same
record. The history keeps the `limit` most recent runs (by start time, else first event time); the latest run
is the first of them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime

TERMINAL_STATES = ("ABORT", "COMPLETE", "FAIL")
_RANK = {"OTHER": 0, "START": 1, "RUNNING": 2, **dict.fromkeys(TERMINAL_STATES, 3)}


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    state: str
    first_event_time: str
    last_event_time: str
    start_time: str | None = None
    end_time: str | None = None
    error: str | None = None

    @property
    def order_key(self) -> tuple[str, str]:
        return (self.start_time or self.first_event_time, self.run_id)


def utc_time(text: str) -> str:
    """An event time as UTC ISO 8601 text, so times compare as strings whatever offset a producer used."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def merged(record: RunRecord | None, *, run_id: str, state: str, event_time: str, error: str | None) -> RunRecord:
    """The run's record after one more event (state is the event's eventType, OTHER when it has none)."""
    if record is None:
        record = RunRecord(run_id=run_id, state="OTHER", first_event_time=event_time, last_event_time=event_time)
    record = replace(
        record,
        first_event_time=min(record.first_event_time, event_time),
        last_event_time=max(record.last_event_time, event_time),
    )
    if state == "START":
        record = replace(record, start_time=min(record.start_time or event_time, event_time))
    current, new = _RANK[record.state], _RANK.get(state, 0)
    if state in TERMINAL_STATES:
        if current < new or (record.end_time or "", record.state) < (event_time, state):
            record = replace(record, state=state, end_time=event_time, error=error or None)
    elif new > current:
        record = replace(record, state=state)
    return record


def history_from(text: str | None) -> dict[str, RunRecord]:
    """The history stored on a Process (see `history_text`)."""
    if not text:
        return {}
    return {item["run_id"]: RunRecord(**item) for item in json.loads(text)}


def bounded(history: dict[str, RunRecord], limit: int) -> list[RunRecord]:
    """The `limit` most recent runs, most recent first."""
    return sorted(history.values(), key=lambda record: record.order_key, reverse=True)[:limit]


def history_text(runs: list[RunRecord]) -> str:
    """The history as compact JSON text (additionalProperties hold text only); stable, so an unchanged
    history compares equal and costs no write."""
    return json.dumps([vars(run) for run in runs], separators=(",", ":"), sort_keys=True)
