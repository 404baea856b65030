"""A repository for the catalog-exchange tests, filled by real connectors, and a comparable view of one.

`fill_repository` runs sqlite-schema on a real SQLite file (tables, a view, columns, keys), directory-monitor on
a real directory tree, a topic connector cataloguing a Kafka topic, and a lineage connector publishing
OpenLineage events (a job reading tables and writing a file; jobs between the topic, a data set no one
catalogued and a file), each as its own metadata source, into one repository.
`snapshot` is what the exchange must keep: every element of the kinds exchanged, by type and qualified name,
with its properties (columns: the ones DataHub's schema fields carry), and the relationships between them.
"""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from typing import Any

from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState

from metaferry_runtime.connectors.directory_monitor import DirectoryMonitorConnector
from metaferry_runtime.connectors.sqlite_schema import SqliteSchemaConnector
from metaferry_runtime.repository import MetadataRepository, Page, open_repository
from metaferry_runtime.sdk import IntegrationConnector
from metaferry_runtime.sdk.contexts.lineage import LineageIntegratorContext
from metaferry_runtime.sdk.contexts.topic import TopicIntegratorContext
from metaferry_runtime.testing import ConnectorHarness

SCHEMA = """
create table customers (id integer primary key, email varchar(64) not null, balance numeric(10, 2));
create table orders (id integer primary key, customer_id integer references customers (id), total real);
create view big_spenders as select id, email from customers where balance > 100;
"""

EXCHANGED_TYPES = (
    "Database",
    "DeployedDatabaseSchema",
    "RelationalDBSchemaType",
    "RelationalTable",
    "RelationalColumn",
    "FileFolder",
    "DataFile",
    "DataSet",
    "Topic",
    "TabularSchemaType",
    "TabularColumn",
    "Process",
)
RELATIONSHIPS = (
    "DataContentForDataSet",
    "AssetSchemaType",
    "AttributeForSchema",
    "NestedSchemaAttribute",
    "NestedFile",
    "FolderHierarchy",
    "DataFlow",
)
COLUMN_PROPERTIES = ("name", "dataType", "isNullable", "position", "description")


class LineageFeeder(IntegrationConnector[LineageIntegratorContext]):
    """Publishes the OpenLineage events in `configurationProperties.events` (as JSON) on each refresh."""

    integration_service = "lineage"

    def refresh(self) -> None:
        for event in self.connection.configuration_properties.get("events", []):
            self.context.publish_open_lineage_event(event)


class TopicFeeder(IntegrationConnector[TopicIntegratorContext]):
    """Catalogues the Kafka topic `orders` of broker:9092, as a topic connector would."""

    integration_service = "topic"

    def refresh(self) -> None:
        self.context.upsert_topic(
            TOPIC, {"name": "orders", "topicName": "orders", "partitions": 6, "replicas": 3}, type_name="KafkaTopic"
        )


TOPIC = "kafka://broker:9092/orders"


def lineage_event(job: str, inputs: list[tuple[str, str]], outputs: list[tuple[str, str]]) -> dict[str, Any]:
    event = RunEvent(
        eventType=RunState.COMPLETE,
        eventTime="2026-01-02T03:00:00+00:00",
        run=Run(runId=str(uuid.uuid4())),
        job=Job(namespace="nightly", name=job),
        producer="https://example.com/metaferry-tests",
        inputs=[InputDataset(namespace=ns, name=name) for ns, name in inputs],
        outputs=[OutputDataset(namespace=ns, name=name) for ns, name in outputs],
    )
    from openlineage.client.serde import Serde

    document: dict[str, Any] = Serde.to_dict(event)
    return document


def fill_repository(repository_url: str, root: Path) -> dict[str, Path]:
    """The shop database, the landing tree and the lineage between them, each catalogued by its connector."""
    database = root / "shop.db"
    with sqlite3.connect(database) as connection:
        connection.executescript(SCHEMA)
    landing = root / "landing"
    (landing / "daily").mkdir(parents=True)
    (landing / "report.csv").write_text("customer,total\n")
    (landing / "daily" / "orders.json").write_text("[]")
    with ConnectorHarness.create(
        SqliteSchemaConnector, endpoint=database, repository_url=repository_url, metadata_source_qualified_name="shop"
    ) as harness:
        harness.refresh()
    with ConnectorHarness.create(
        DirectoryMonitorConnector,
        endpoint=landing,
        repository_url=repository_url,
        metadata_source_qualified_name="files",
    ) as harness:
        harness.refresh()
    with ConnectorHarness.create(
        TopicFeeder, repository_url=repository_url, metadata_source_qualified_name="topics"
    ) as harness:
        harness.refresh()
    events = [
        lineage_event(
            "report",
            inputs=[(f"sqlite://{database}", "main/orders"), (f"sqlite://{database}", "main/customers")],
            outputs=[("file", str(landing / "report.csv"))],
        ),
        lineage_event("stream", inputs=[("kafka://broker:9092", "orders")], outputs=[("s3://archive", "orders/2026")]),
        lineage_event(
            "archive",
            inputs=[("s3://archive", "orders/2026")],
            outputs=[("file", str(landing / "daily" / "orders.json"))],
        ),
    ]
    with ConnectorHarness.create(
        LineageFeeder,
        repository_url=repository_url,
        metadata_source_qualified_name="lineage",
        configuration_properties={"events": events},
    ) as harness:
        harness.refresh()
    return {"database": database, "landing": landing}


def snapshot(repository_url: str, *, without: str | None = None) -> dict[str, Any]:
    """The exchanged elements and relationships, by qualified names (what another repository must also have)."""
    repository = open_repository(repository_url)
    try:
        return _snapshot(repository, without)
    finally:
        repository.close()


def _snapshot(repository: MetadataRepository, without: str | None) -> dict[str, Any]:
    elements: dict[str, tuple[str, dict[str, Any]]] = {}
    relationships: set[tuple[str, str, str]] = set()
    with repository.reader() as reader:
        found = []
        for type_name in EXCHANGED_TYPES:
            found += reader.find_elements(type_name=type_name, include_subtypes=True, page=Page(page_size=10_000))
        names = {element.guid: element.qualified_name for element in found}
        for element in found:
            properties = dict(element.properties)
            if element.type_name in ("RelationalColumn", "TabularColumn"):
                properties = {key: properties[key] for key in COLUMN_PROPERTIES if key in properties}
            properties.pop("additionalProperties", None) if not properties.get("additionalProperties") else None
            elements[element.qualified_name] = (element.type_name, properties)
            for link in reader.get_relationships(element.guid, page=Page(page_size=10_000)):
                if link.type_name in RELATIONSHIPS and link.end1_guid in names and link.end2_guid in names:
                    relationships.add((link.type_name, names[link.end1_guid], names[link.end2_guid]))
        primary_keys = {e.qualified_name for e in found if e.classification("PrimaryKey") is not None}
    if without is not None:
        elements = {name: value for name, value in elements.items() if not name.startswith(without)}
    return {"elements": elements, "relationships": relationships, "primary keys": primary_keys}


def elements_owned_by(repository_url: str, collection: str, type_name: str) -> list[str]:
    repository = open_repository(repository_url)
    try:
        with repository.reader() as reader:
            return sorted(
                e.qualified_name
                for e in reader.find_elements(
                    type_name=type_name, metadata_collection=collection, page=Page(page_size=10_000)
                )
            )
    finally:
        repository.close()


def differences(left: dict[str, Any], right: dict[str, Any]) -> list[str]:
    """What differs between two snapshots, one line each (for a readable assertion message)."""
    lines = []
    for name in sorted(set(left["elements"]) | set(right["elements"])):
        a, b = left["elements"].get(name), right["elements"].get(name)
        if a != b:
            lines.append(f"{name}: {a} != {b}")
    for link in sorted(left["relationships"] ^ right["relationships"]):
        lines.append(f"relationship {link} only in {'left' if link in left['relationships'] else 'right'}")
    for key in sorted(left["primary keys"] ^ right["primary keys"]):
        lines.append(f"primary key {key} only in {'left' if key in left['primary keys'] else 'right'}")
    return lines
