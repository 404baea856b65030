"""The run record a Process carries is the same whatever order its events arrive in, and repeats change nothing;
the journal keeps only complete lines."""

from __future__ import annotations

import itertools
from pathlib import Path

from metaferry_runtime.connectors.openlineage_receiver.journal import Journal, Position
from metaferry_runtime.connectors.openlineage_receiver.runs import RunRecord, bounded, merged, utc_time

EVENTS = [
    ("START", "2026-01-02T03:00:00+00:00", None),
    ("RUNNING", "2026-01-02T03:01:00+00:00", None),
    ("OTHER", "2026-01-02T03:09:00+00:00", None),
    ("FAIL", "2026-01-02T03:04:00+00:00", "disk full"),
    ("COMPLETE", "2026-01-02T03:05:00+00:00", None),
]


def record_of(events: list[tuple[str, str, str | None]]) -> RunRecord | None:
    record = None
    for state, time, error in events:
        record = merged(record, run_id="r", state=state, event_time=utc_time(time), error=error)
    return record


def test_every_order_of_a_runs_events_and_every_repeat_ends_in_the_same_record() -> None:
    expected = record_of(EVENTS)
    assert expected is not None
    assert (expected.state, expected.error) == ("COMPLETE", None)  # the later terminal event wins
    assert expected.start_time == utc_time("2026-01-02T03:00:00Z")
    assert expected.end_time == utc_time("2026-01-02T03:05:00Z")
    assert expected.last_event_time == utc_time("2026-01-02T03:09:00Z")
    for order in itertools.permutations(EVENTS):
        assert record_of([*order, *order[:2]]) == expected, order


def test_times_with_other_offsets_compare_as_the_same_instant() -> None:
    assert utc_time("2026-01-02T04:00:00+01:00") == utc_time("2026-01-02T03:00:00Z")


def test_the_history_keeps_the_most_recent_runs() -> None:
    history = {
        run_id: merged(None, run_id=run_id, state="START", event_time=utc_time(f"2026-01-0{day}T00:00:00Z"), error=None)
        for day, run_id in enumerate("abcde", start=1)
    }
    assert [run.run_id for run in bounded(history, 2)] == ["e", "d"]


def test_a_torn_last_line_of_the_journal_is_cut_when_it_is_opened_again(tmp_path: Path) -> None:
    segment = tmp_path / "events-00000001.jsonl"
    segment.write_bytes(b'{"a":1}\n{"b":2}\n{"c":')  # a crash in the middle of an unacknowledged append
    journal = Journal(tmp_path, segment_bytes=1 << 20, retained_segments=2)
    assert journal.end() == Position(1, 16)
    journal.open()
    journal.close()
    assert segment.read_bytes() == b'{"a":1}\n{"b":2}\n'
    lines, reached = journal.read(None, limit=10)
    assert (lines, reached) == ([b'{"a":1}\n', b'{"b":2}\n'], Position(1, 16))
