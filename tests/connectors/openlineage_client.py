"""Helpers of the openlineage-receiver tests: the receiver fixture, and the real OpenLineage client pointed at it."""

from __future__ import annotations

import json
import socket
import uuid
from pathlib import Path
from typing import Any

import httpx
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.generated import column_lineage_dataset, parent_run, schema_dataset, sql_job
from openlineage.client.transport.http import HttpConfig, HttpTransport

from metaferry_runtime.connectors.openlineage_receiver import OpenLineageReceiverConnector
from metaferry_runtime.testing import ConnectorHarness, HarnessFactory

TOKEN = "receiver-token-0123456789"
PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.0.0/integration/test"


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def client(
    port: int, *, token: str = TOKEN, retry: dict[str, Any] | None = None, host: str = "127.0.0.1"
) -> OpenLineageClient:
    """The OpenLineage client with its HTTP transport, configured as a job's openlineage.yml would."""
    config: dict[str, Any] = {
        "url": f"http://{host}:{port}",
        "auth": {"type": "api_key", "apiKey": token},
        "timeout": 10,
    }
    if retry is not None:
        config["retry"] = retry
    return OpenLineageClient(transport=HttpTransport(HttpConfig.from_dict(config)))


def schema(*columns: str) -> schema_dataset.SchemaDatasetFacet:
    return schema_dataset.SchemaDatasetFacet(
        fields=[schema_dataset.SchemaDatasetFacetFields(name=name, type="VARCHAR") for name in columns]
    )


def column_lineage(mapping: dict[str, list[tuple[str, str, str]]]) -> column_lineage_dataset.ColumnLineageDatasetFacet:
    """{output column: [(input namespace, input name, input column)]}."""
    return column_lineage_dataset.ColumnLineageDatasetFacet(
        fields={
            column: column_lineage_dataset.Fields(
                inputFields=[
                    column_lineage_dataset.InputField(namespace=ns, name=name, field=field)
                    for ns, name, field in sources
                ]
            )
            for column, sources in mapping.items()
        }
    )


def run_event(
    state: RunState,
    *,
    job: str = "daily_orders",
    namespace: str = "airflow",
    run_id: str | None = None,
    time: str = "2026-01-02T03:00:00+00:00",
    inputs: list[InputDataset] | None = None,
    outputs: list[OutputDataset] | None = None,
    sql: str | None = None,
    parent: tuple[str, str, str] | None = None,
) -> RunEvent:
    job_facets: dict[str, Any] = {"sql": sql_job.SQLJobFacet(query=sql)} if sql else {}
    run_facets: dict[str, Any] = {}
    if parent is not None:
        parent_ns, parent_name, parent_run_id = parent
        run_facets["parent"] = parent_run.ParentRunFacet(
            run=parent_run.Run(runId=parent_run_id), job=parent_run.Job(namespace=parent_ns, name=parent_name)
        )
    return RunEvent(
        eventType=state,
        eventTime=time,
        run=Run(runId=run_id or str(uuid.uuid4()), facets=run_facets),
        job=Job(namespace=namespace, name=job, facets=job_facets),
        producer=PRODUCER,
        inputs=inputs or [],
        outputs=outputs or [],
    )


Receiver = ConnectorHarness[OpenLineageReceiverConnector]


def start_receiver(connector_harness: HarnessFactory, *, journal: Path, repository_url: str, **config: Any) -> Receiver:
    """The receiver started by the test kit on a free loopback port (METAFERRY_LISTEN_HOST set by the caller)."""
    harness: Receiver = connector_harness(
        OpenLineageReceiverConnector,
        listener_port=free_port(),
        uses_blocking_calls=True,
        secrets={"token": TOKEN},
        configuration_properties={"journalDirectory": str(journal), **config},
        repository_url=repository_url,
    )
    return harness


def port_of(harness: Receiver) -> int:
    server = harness.connector.server
    assert server is not None
    return server.port


def catalogue_received(harness: Receiver) -> None:
    """Run engage() as the engage thread would until everything received is catalogued."""
    while not harness.connector.caught_up:
        harness.engage_once()


def post(harness: Receiver, body: Any, *, path: str = "/api/v1/lineage", token: str = TOKEN) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(
        f"http://127.0.0.1:{port_of(harness)}{path}",
        content=content,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        timeout=10,
    )
