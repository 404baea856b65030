"""openlineage-receiver links the datasets other connectors catalogued (by the one OpenLineage naming rule in
`metaferry_runtime.sdk.contexts._openlineage`) instead of cataloguing them again, and passes the test kit's
conformance suite."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
from openlineage.client.event_v2 import InputDataset, OutputDataset, RunState

from metaferry_runtime.connectors.directory_monitor import DirectoryMonitorConnector
from metaferry_runtime.connectors.openlineage_receiver import OpenLineageReceiverConnector
from metaferry_runtime.connectors.postgres_schema import PostgresSchemaConnector
from metaferry_runtime.testing import HarnessFactory, Property, conformance, element_named, elements_under
from metaferry_runtime.testing import relationships_between as links
from tests.connectors.openlineage_client import (
    TOKEN,
    Receiver,
    catalogue_received,
    client,
    column_lineage,
    free_port,
    port_of,
    run_event,
)

JOB = "openlineage:job:airflow/daily_orders"


def test_a_file_the_directory_monitor_catalogued_is_linked_not_duplicated(
    receiver: Callable[..., Receiver], connector_harness: HarnessFactory, tree: Path, lineage_repository_url: str
) -> None:
    connector_harness(
        DirectoryMonitorConnector,
        endpoint=tree,
        repository_url=lineage_repository_url,
        metadata_source_qualified_name="data/files",
    ).refresh()
    harness = receiver()
    orders = str(tree / "orders.csv")
    client(port_of(harness)).emit(run_event(RunState.COMPLETE, inputs=[InputDataset(namespace="file", name=orders)]))
    catalogue_received(harness)
    assert element_named(harness, f"file://{orders}").type_name == "CSVFile"
    assert links(harness, f"file://{orders}", JOB, type_name="DataFlow")
    assert elements_under(harness, "DataSet", "openlineage:file://") == {}


def test_a_data_set_catalogued_by_another_source_later_is_folded_into_it_by_the_next_refresh(
    receiver: Callable[..., Receiver], connector_harness: HarnessFactory, tree: Path, lineage_repository_url: str
) -> None:
    harness = receiver()
    orders = str(tree / "orders.csv")
    client(port_of(harness)).emit(run_event(RunState.COMPLETE, outputs=[OutputDataset(namespace="file", name=orders)]))
    catalogue_received(harness)
    assert links(harness, JOB, f"openlineage:file://{orders}", type_name="DataFlow")

    connector_harness(
        DirectoryMonitorConnector,
        endpoint=tree,
        repository_url=lineage_repository_url,
        metadata_source_qualified_name="data/files",
    ).refresh()
    harness.refresh()
    assert links(harness, JOB, f"file://{orders}", type_name="DataFlow")
    assert elements_under(harness, "DataSet", "openlineage:file://") == {}  # archived


def test_tables_and_columns_the_postgres_schema_connector_catalogued_get_the_column_lineage(
    receiver: Callable[..., Receiver],
    connector_harness: HarnessFactory,
    postgres_database: str,
    lineage_repository_url: str,
) -> None:
    with psycopg.connect(postgres_database, autocommit=True) as server:
        server.execute("create table public.orders (id bigint primary key, amount numeric)")
    warehouse = connector_harness(
        PostgresSchemaConnector,
        endpoint=postgres_database,
        repository_url=lineage_repository_url,
        metadata_source_qualified_name="data/warehouse",
    )
    warehouse.refresh()
    info = psycopg.conninfo.conninfo_to_dict(postgres_database)
    namespace, name = f"postgres://{info['host']}:{info['port']}", f"{info['dbname']}.public.orders"
    table = f"{namespace}/{name}"
    assert element_named(warehouse, table).type_name == "RelationalTable"

    harness = receiver()
    lineage = column_lineage({"total": [(namespace, name, "amount")]})
    summary = OutputDataset(namespace="s3://lake", name="summary", facets={"columnLineage": lineage})
    client(port_of(harness)).emit(
        run_event(RunState.COMPLETE, inputs=[InputDataset(namespace=namespace, name=name)], outputs=[summary])
    )
    catalogue_received(harness)
    assert links(harness, table, JOB, type_name="DataFlow")
    assert links(harness, f"{table}#amount", "openlineage:s3://lake/summary#total", type_name="LineageMapping")
    assert elements_under(harness, "DataSet", "openlineage:postgres://") == {}


def test_the_receiver_conforms(receiver: Callable[..., Receiver], tmp_path: Path) -> None:
    """The suite's source is the journal: a first life receives events and stops; conformance then runs
    the connector over that journal (its refresh applies it; an unchanged journal writes nothing)."""
    first = receiver()
    emitter = client(port_of(first))
    for number in range(3):
        emitter.emit(
            run_event(
                RunState.COMPLETE,
                job=f"job_{number}",
                outputs=[OutputDataset(namespace="s3://lake", name=f"t{number}")],
            )
        )
    first.close()

    report = conformance(
        OpenLineageReceiverConnector,
        listener_port=free_port(),
        uses_blocking_calls=True,
        secrets={"token": TOKEN},
        configuration_properties={"journalDirectory": str(tmp_path / "journal")},
    )
    assert all(report.result(prop).passed for prop in Property)
