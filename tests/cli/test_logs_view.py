"""How `metaferry logs` prints what the runtime writes: audit records as Egeria prints an audit log."""

from __future__ import annotations

import argparse
import io
import json

from metaferry_cli.logs_command import _stream_lines, _wanted, format_record, parse_line
from metaferry_cli.output import Output

AUDIT = {
    "time": "2026-12-04T10:00:00.123+00:00",
    "messageId": "METAFERRY-RUNTIME-0008",
    "severity": "Exception",
    "text": "Connector files failed in refresh r-1: OSError: gone",
    "exceptionClass": "OSError",
    "exceptionMessage": "gone",
}
LOG = {"time": "2026-12-04T10:00:01+00:00", "level": "WARNING", "logger": "metaferry.api", "message": "slow"}


def test_audit_records_log_records_and_plain_lines_are_printed_each_in_its_form() -> None:
    out = Output(stream=io.StringIO())
    assert format_record(parse_line(json.dumps(AUDIT)), out) == (
        "2026-12-04T10:00:00.123+00:00  Exception    METAFERRY-RUNTIME-0008  "
        "Connector files failed in refresh r-1: OSError: gone\n    OSError: gone"
    )
    assert (
        format_record(parse_line(json.dumps(LOG)), out) == "2026-12-04T10:00:01+00:00  WARNING      metaferry.api: slow"
    )
    assert format_record(parse_line("Traceback (most recent call last):"), out) == "Traceback (most recent call last):"
    assert format_record(parse_line("[1, 2]"), out) == "[1, 2]"


def test_audit_records_by_default_log_records_with_all_and_severity_filters_audit_records() -> None:
    records = [AUDIT, LOG, {"text": "not json"}]
    plain = argparse.Namespace(all=False, severity=[])
    assert [r for r in records if _wanted(r, plain)] == [AUDIT, {"text": "not json"}]
    assert [r for r in records if _wanted(r, argparse.Namespace(all=True, severity=[]))] == records
    assert [r for r in records if _wanted(r, argparse.Namespace(all=True, severity=["Error"]))] == []


def test_a_followed_stream_is_cut_into_lines_whatever_the_chunks() -> None:
    assert list(_stream_lines([b"a\nb", b"c\n", b"\xff\nend"])) == ["a", "bc", "\ufffd", "end"]
