"""`metaferry status` text: one connector's summary and the table, against fixed snapshots.

The resource bodies are what the operator writes (fields as the CRD names them); a change to the layout
must change the snapshot here too, so it is a decision and not an accident.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from metaferry_cli.output import Output
from metaferry_cli.status_view import age, describe, summary_rows, until
from metaferry_cli.waiting import parse_duration

NOW = datetime(2026, 12, 4, 12, 0, 0, tzinfo=UTC)

BODY = {
    "metadata": {"name": "warehouse", "namespace": "data", "creationTimestamp": "2026-12-01T12:00:00Z"},
    "spec": {"integrationService": "database", "connector": "postgres-schema", "refreshInterval": "10m"},
    "status": {
        "phase": "Ready",
        "connectorStatus": "RUNNING",
        "podName": "warehouse-runtime-7d9f-abcde",
        "lastRefreshTime": "2026-12-04T11:58:00Z",
        "lastRefreshDuration": "1.4s",
        "nextRefreshTime": "2026-12-04T12:08:00Z",
        "refreshCount": 12,
        "failedRefreshCount": 1,
        "restartCount": 0,
        "statistics": {"created": 0, "updated": 2, "unchanged": 1204, "archived": 1},
        "lastRequestedRefresh": {
            "requestedAt": "2026-12-04T11:57:58.120000+00:00",
            "refreshId": "5f2c9a1e0b7d",
            "result": "Succeeded",
            "startedAt": "2026-12-04T11:58:00+00:00",
            "finishedAt": "2026-12-04T11:58:01.400000+00:00",
            "statistics": {"created": 0, "updated": 2, "unchanged": 1204, "archived": 1},
        },
        "conditions": [
            {"type": "Ready", "status": "True", "reason": "Refreshed", "message": "", "lastTransitionTime": "x"},
            {
                "type": "Degraded",
                "status": "False",
                "reason": "RefreshSucceeded",
                "message": "the last refresh succeeded",
                "lastTransitionTime": "x",
            },
        ],
    },
}

EVENTS = [
    {
        "type": "Normal",
        "reason": "RefreshRequested",
        "message": "refresh 5f2c9a1e0b7d requested",
        "count": 1,
        "lastTimestamp": "2026-12-04T11:57:58Z",
    },
    {
        "type": "Normal",
        "reason": "RequestedRefreshSucceeded",
        "message": "refresh 5f2c9a1e0b7d succeeded",
        "count": 3,
        "lastTimestamp": "2026-12-04T11:58:02Z",
    },
]

DESCRIBED = """\
Name:              warehouse
Namespace:         data
Connector:         postgres-schema (database service)
Phase:             Ready
Connector status:  RUNNING
Pod:               warehouse-runtime-7d9f-abcde
Last refresh:      2026-12-04T11:58:00Z (2m ago, took 1.4s); 12 refreshes, 1 failed
  statistics:      0 created, 2 updated, 1204 unchanged, 1 archived, 0 deleted
Next refresh:      2026-12-04T12:08:00Z (in 8m)
Restarts:          0
Requested refresh: 2026-12-04T11:57:58.120000+00:00 -> Succeeded (refresh 5f2c9a1e0b7d)
  statistics:      0 created, 2 updated, 1204 unchanged, 1 archived, 0 deleted
Conditions:
  Ready=True Refreshed
  Degraded=False RefreshSucceeded: the last refresh succeeded
Events (2 most recent):
     2m ago  Normal  RefreshRequested: refresh 5f2c9a1e0b7d requested
     1m ago  Normal  RequestedRefreshSucceeded (x3): refresh 5f2c9a1e0b7d succeeded"""

TABLE = """\
NAME        SERVICE    CONNECTOR   PHASE       LAST REFRESH   NEXT REFRESH   REQUESTED   AGE
warehouse   database   RUNNING     Ready       2m ago         in 8m          Succeeded   3d
files       files                  Suspended                                             3d"""


def test_one_connector_is_described_as_the_snapshot() -> None:
    lines = describe(BODY, EVENTS, now=NOW, paint=Output("text"))
    assert "\n".join(lines) == DESCRIBED


def test_a_connector_not_reported_yet_says_so_rather_than_printing_nothing() -> None:
    body = {"metadata": {"name": "new", "namespace": "data"}, "spec": {"connector": "c", "integrationService": "s"}}
    text = "\n".join(describe(body, [], now=NOW, paint=Output("text")))
    assert "Phase:             Pending" in text and "Connector status:  (not reported yet)" in text
    assert "Last refresh:      none yet; 0 refreshes, 0 failed" in text
    assert "Next refresh:      only on request" in text and "Conditions:\n  (none yet)" in text
    assert text.endswith("Events:            (none)")


def test_the_table_has_kubectl_columns_and_shows_suspension(capsys: pytest.CaptureFixture[str]) -> None:
    suspended = {
        "metadata": {"name": "files", "namespace": "data", "creationTimestamp": "2026-12-01T12:00:00Z"},
        "spec": {"integrationService": "files", "suspend": True},
    }
    header, rows = summary_rows([BODY, suspended], all_namespaces=False, now=NOW)
    Output("text").table(header, rows)
    assert capsys.readouterr().out.rstrip("\n") == TABLE
    header, rows = summary_rows([BODY], all_namespaces=True, now=NOW)
    assert header[0] == "NAMESPACE" and rows[0][:2] == ["data", "warehouse"]


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("5m", 300), ("1h30m", 5400), ("45", 45), ("2.5s", 2.5), ("1h", 3600)]
)
def test_timeouts_read_as_kubectl_reads_them(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5 minutes", "m", "-3s"])
def test_a_timeout_that_is_not_a_duration_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_ages_are_short_as_kubectl_prints_them() -> None:
    assert [age(f"2026-12-04T{t}Z", NOW) for t in ("11:59:15", "11:30:00", "09:00:00")] == ["45s", "30m", "3h"]
    assert age("2026-11-30T12:00:00Z", NOW) == "4d" and until("2026-12-04T11:00:00Z", NOW) == "due"
