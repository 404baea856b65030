"""openlineage-receiver, driven by the test kit and fed by the real OpenLineage client over HTTP on loopback."""

from __future__ import annotations

import http.server
import json
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from openlineage.client.event_v2 import InputDataset, OutputDataset, RunState

from metaferry_runtime.connectors.openlineage_receiver import OpenLineageReceiverConnector
from metaferry_runtime.testing import HarnessFactory, element_named, elements_under
from metaferry_runtime.testing import relationships_between as links
from tests.connectors.openlineage_client import (
    Receiver,
    catalogue_received,
    client,
    column_lineage,
    free_port,
    port_of,
    post,
    run_event,
    schema,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
JOB = "openlineage:job:airflow/daily_orders"
ORDERS = "openlineage:s3://lake/raw/orders"
SUMMARY = "openlineage:postgres://warehouse:5432/analytics.public.order_summary"


def raw_event(**overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "eventType": "START",
        "eventTime": "2026-01-02T03:00:00Z",
        "producer": "https://example.com/producer",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "airflow", "name": "raw_job"},
    }
    event.update(overrides)
    return event


def extra(harness: Receiver, qualified_name: str) -> dict[str, str]:
    properties: dict[str, str] = element_named(harness, qualified_name).properties["additionalProperties"]
    return properties


def test_a_run_posted_by_the_openlineage_client_becomes_a_process_with_lineage_columns_and_its_state(
    receiver: Callable[..., Receiver],
) -> None:
    harness = receiver()
    emitter = client(port_of(harness))
    run_id = str(uuid.uuid4())
    inputs = [InputDataset(namespace="s3://lake", name="raw/orders", facets={"schema": schema("id", "amount")})]
    summary = column_lineage({"total": [("s3://lake", "raw/orders", "amount")]})
    outputs = [
        OutputDataset(
            namespace="postgres://warehouse:5432",
            name="analytics.public.order_summary",
            facets={"schema": schema("day", "total"), "columnLineage": summary},
        )
    ]
    sql = "insert into order_summary select day, sum(amount) from orders group by day"
    emitter.emit(run_event(RunState.START, run_id=run_id, inputs=inputs, outputs=outputs, sql=sql))
    emitter.emit(run_event(RunState.COMPLETE, run_id=run_id, time="2026-01-02T03:05:00+00:00"))
    catalogue_received(harness)

    process = element_named(harness, JOB)
    assert process.type_name == "Process"
    assert process.properties["formula"] == sql
    state = extra(harness, JOB)
    assert (state["latestRunId"], state["latestRunState"]) == (run_id, "COMPLETE")
    assert state["latestRunStartTime"].startswith("2026-01-02T03:00:00")
    assert state["latestRunEndTime"].startswith("2026-01-02T03:05:00")
    assert links(harness, ORDERS, JOB, type_name="DataFlow")
    assert links(harness, JOB, SUMMARY, type_name="DataFlow")
    assert set(elements_under(harness, "TabularColumn", SUMMARY + "#")) == {f"{SUMMARY}#day", f"{SUMMARY}#total"}
    assert links(harness, f"{ORDERS}#amount", f"{SUMMARY}#total", type_name="LineageMapping")


def test_complete_before_start_ends_complete_and_the_same_events_again_change_nothing(
    receiver: Callable[..., Receiver],
) -> None:
    harness = receiver()
    emitter = client(port_of(harness))
    run_id = str(uuid.uuid4())
    complete = run_event(RunState.COMPLETE, run_id=run_id, time="2026-01-02T03:05:00+00:00")
    start = run_event(RunState.START, run_id=run_id, time="2026-01-02T03:00:00+00:00")
    emitter.emit(complete)
    emitter.emit(start)
    catalogue_received(harness)
    state = extra(harness, JOB)
    assert state["latestRunState"] == "COMPLETE"
    assert state["latestRunStartTime"].startswith("2026-01-02T03:00:00")

    before = harness.repository.head_sequence()
    emitter.emit(start)
    emitter.emit(complete)
    catalogue_received(harness)
    assert list(harness.repository.events_since(before, limit=10)) == []


def test_the_run_history_is_bounded_and_the_latest_run_is_the_most_recent(receiver: Callable[..., Receiver]) -> None:
    harness = receiver(runHistory=3)
    emitter = client(port_of(harness))
    runs = [str(uuid.uuid4()) for _ in range(5)]
    for hour, run_id in reversed(list(enumerate(runs))):  # newest first: the order must not matter
        emitter.emit(run_event(RunState.START, run_id=run_id, time=f"2026-01-02T0{hour}:00:00+00:00"))
    catalogue_received(harness)
    state = extra(harness, JOB)
    assert [run["run_id"] for run in json.loads(state["openLineageRuns"])] == [runs[4], runs[3], runs[2]]
    assert (state["latestRunId"], state["latestRunState"]) == (runs[4], "START")


def test_a_malformed_event_gets_400_naming_the_field_and_nothing_of_it_is_kept(
    receiver: Callable[..., Receiver],
) -> None:
    harness = receiver()
    wrong = {
        "run.runId": raw_event(run={"runId": "not-a-uuid"}),
        "eventTime": raw_event(eventTime="2026-01-02"),
        "job.name": raw_event(job={"namespace": "airflow"}),
        "outputs[0].facets.schema.fields[0].name": raw_event(
            outputs=[{"namespace": "s3://lake", "name": "x", "facets": {"schema": {"fields": [{"type": "INT"}]}}}]
        ),
    }
    for field, event in wrong.items():
        response = post(harness, event)
        assert response.status_code == 400, field
        assert response.json()["field"] == field
    assert post(harness, b"{not json").status_code == 400
    assert harness.connector.caught_up  # nothing reached the journal
    assert elements_under(harness, "Referenceable") == {}


def test_a_batch_is_accepted_whole_or_refused_whole(receiver: Callable[..., Receiver]) -> None:
    harness = receiver()
    good, bad = raw_event(), raw_event(run={"runId": "nope"})
    refused = post(harness, [good, bad], path="/api/v1/lineage/batch")
    assert (refused.status_code, refused.json()["field"]) == (400, "[1].run.runId")
    assert harness.connector.caught_up
    accepted = post(
        harness, [good, raw_event(job={"namespace": "airflow", "name": "other"})], path="/api/v1/lineage/batch"
    )
    assert (accepted.status_code, accepted.json()) == (200, {"accepted": 2})
    catalogue_received(harness)
    assert set(elements_under(harness, "Process")) == {
        "openlineage:job:airflow/raw_job",
        "openlineage:job:airflow/other",
    }


def test_a_request_without_the_token_is_refused_and_a_body_over_the_limit_gets_413(
    receiver: Callable[..., Receiver],
) -> None:
    harness = receiver(maxBodyBytes=2048)
    assert post(harness, raw_event(), token="wrong-token-000").status_code == 401
    padded = raw_event(job={"namespace": "airflow", "name": "x" * 4096})
    assert post(harness, padded).status_code == 413
    assert harness.connector.caught_up


def test_job_and_dataset_events_are_catalogued(receiver: Callable[..., Receiver]) -> None:
    harness = receiver()
    job_event = {
        "eventTime": "2026-01-02T03:00:00Z",
        "producer": "https://example.com/producer",
        "job": {
            "namespace": "spark",
            "name": "etl",
            "facets": {
                "documentation": {"description": "nightly load"},
                "sourceCode": {"language": "python", "sourceCode": "print(1)"},
            },
        },
        "inputs": [{"namespace": "file", "name": "/data/in.csv"}],
        "outputs": [{"namespace": "file", "name": "/data/out.csv"}],
    }
    dataset_event = {
        "eventTime": "2026-01-02T03:00:00Z",
        "producer": "https://example.com/producer",
        "dataset": {
            "namespace": "s3://lake",
            "name": "ref/countries",
            "facets": {"schema": {"fields": [{"name": "code"}]}},
        },
    }
    assert post(harness, job_event).status_code == 201
    assert post(harness, dataset_event).status_code == 201
    catalogue_received(harness)
    process = element_named(harness, "openlineage:job:spark/etl")
    assert process.properties["description"] == "nightly load"
    assert process.properties["implementationLanguage"] == "python"
    assert "latestRunId" not in process.properties["additionalProperties"]
    assert links(harness, "openlineage:file:///data/in.csv", "openlineage:job:spark/etl", type_name="DataFlow")
    assert set(elements_under(harness, "TabularColumn", "openlineage:s3://lake/ref/countries#")) == {
        "openlineage:s3://lake/ref/countries#code"
    }


def test_a_parent_run_nests_the_job_under_its_parents_process(receiver: Callable[..., Receiver]) -> None:
    harness = receiver()
    client(port_of(harness)).emit(
        run_event(RunState.START, job="dag.task", parent=("airflow", "dag", str(uuid.uuid4())))
    )
    catalogue_received(harness)
    assert links(
        harness, "openlineage:job:airflow/dag", "openlineage:job:airflow/dag.task", type_name="ProcessHierarchy"
    )


class FlakyProxy:
    """A real HTTP proxy in front of the receiver that answers 503 to the first `failures` requests; with
    `forward_failed`, it passes those to the receiver first (the receiver's answer is lost on the way back)."""

    def __init__(self, target_port: int, *, failures: int, forward_failed: bool) -> None:
        self.requests = 0
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                proxy.requests += 1
                body = self.rfile.read(int(self.headers["Content-Length"]))
                failing = proxy.requests <= failures
                status = 503
                if forward_failed or not failing:
                    forwarded = httpx.post(
                        f"http://127.0.0.1:{target_port}{self.path}",
                        content=body,
                        headers={k: v for k, v in self.headers.items() if k.lower() != "host"},
                        timeout=10,
                    )
                    status = 503 if failing else forwarded.status_code
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FlakyProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


RETRY = {"total": 5, "backoff_factor": 0.01, "status_forcelist": [503], "allowed_methods": ["POST"]}


@pytest.mark.parametrize("answer_lost", [False, True], ids=["refused-then-accepted", "accepted-but-answer-lost"])
def test_the_clients_retries_deliver_the_event_once(receiver: Callable[..., Receiver], answer_lost: bool) -> None:
    harness = receiver()
    run_id = str(uuid.uuid4())
    with FlakyProxy(port_of(harness), failures=2, forward_failed=answer_lost) as proxy:
        client(proxy.port, retry=RETRY).emit(run_event(RunState.COMPLETE, run_id=run_id))
    assert proxy.requests == 3  # two 503s, then the receiver's 201
    catalogue_received(harness)
    runs = json.loads(extra(harness, JOB)["openLineageRuns"])
    assert [(run["run_id"], run["state"]) for run in runs] == [(run_id, "COMPLETE")]


def test_a_client_sending_a_thousand_events_gets_every_one_catalogued(receiver: Callable[..., Receiver]) -> None:
    harness = receiver()
    emitter = client(port_of(harness))
    expected: dict[str, set[str]] = {}
    for number in range(500):
        job, run_id = f"job_{number % 50:02d}", str(uuid.uuid4())
        expected.setdefault(job, set()).add(run_id)
        hour, minute = divmod(number, 60)
        time = f"2026-01-02T{hour:02d}:{minute:02d}:00+00:00"
        outputs = [OutputDataset(namespace="s3://lake", name=f"out/{job}")]
        emitter.emit(run_event(RunState.START, job=job, run_id=run_id, time=time, outputs=outputs))
        emitter.emit(run_event(RunState.COMPLETE, job=job, run_id=run_id, time=time.replace(":00+", ":30+")))
    catalogue_received(harness)
    processes = elements_under(harness, "Process", "openlineage:job:airflow/job_")
    assert len(processes) == 50
    for job, run_ids in expected.items():
        runs = json.loads(
            processes[f"openlineage:job:airflow/{job}"].properties["additionalProperties"]["openLineageRuns"]
        )
        assert {run["run_id"] for run in runs} == run_ids
        assert {run["state"] for run in runs} == {"COMPLETE"}


def test_the_example_manifest_receives_an_event_from_the_client(
    connector_harness: HarnessFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret, manifest = yaml.safe_load_all((EXAMPLES / "lineage-connector.yaml").read_text())
    manifest["spec"]["connection"]["configurationProperties"]["journalDirectory"] = str(tmp_path / "journal")
    monkeypatch.setenv("METAFERRY_LISTEN_HOST", "127.0.0.1")
    harness: Receiver = connector_harness(
        OpenLineageReceiverConnector,
        manifest,
        listener_port=free_port(),  # the example's 5000 may be taken on a test machine
        secrets=secret["stringData"],
        repository_url=f"sqlite:///{tmp_path / 'example.db'}",
    )
    client(port_of(harness), token=secret["stringData"]["token"]).emit(run_event(RunState.START))
    catalogue_received(harness)
    assert extra(harness, JOB)["latestRunState"] == "START"
