"""grafana-dashboards links each SQL query to the tables it reads that a database connector catalogued (by the
one qualified-name rule, `sqlite://<path>/main/<table>` and `postgres://host:port/db.schema.table`): with a
sqlite-schema catalogue and a dashboard directory, and with a postgres-schema catalogue of a real PostgreSQL
database whose data source a Grafana API names."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import psycopg

from metaferry_runtime.connectors.grafana_dashboards import GrafanaDashboardsConnector
from metaferry_runtime.connectors.postgres_schema import PostgresSchemaConnector
from metaferry_runtime.connectors.sqlite_schema import SqliteSchemaConnector
from metaferry_runtime.testing import (
    ConnectorHarness,
    HarnessFactory,
    assert_refresh_writes_nothing,
    element_named,
    elements_under,
)
from metaferry_runtime.testing import relationships_between as links
from tests.connectors.grafana_dashboards import shop, write
from tests.connectors.grafana_server import GRAFANA_TOKEN, GrafanaServer

ORDERS = (
    "create table orders (id integer primary key, customer_id integer, total numeric, created_at text, region text)"
)
CUSTOMERS = "create table customers (id integer primary key, country text)"


def shop_database(path: Path, *statements: str) -> Path:
    with sqlite3.connect(path) as database:
        for statement in statements:
            database.execute(statement)
    return path


def catalogue_sqlite(factory: HarnessFactory, database: Path, repository: str) -> None:
    factory(
        SqliteSchemaConnector,
        endpoint=str(database),
        repository_url=repository,
        metadata_source_qualified_name="data/shop",
    ).refresh()


def dashboards(factory: HarnessFactory, directory: Path, database: Path, repository: str) -> ConnectorHarness[Any]:
    return factory(
        GrafanaDashboardsConnector,
        endpoint=str(directory),
        repository_url=repository,
        metadata_source_qualified_name="display/grafana",
        configuration_properties={"datasources": {"shopdb": f"sqlite://{database}"}},
    )


def data_flows_to(h: ConnectorHarness[Any], query: str) -> set[str]:
    """The qualified names of what the query is linked to by DataFlow."""
    guid = element_named(h, query).guid
    with h.repository.reader() as reader:
        return {
            reader.get_element(relationship.end1_guid).qualified_name
            for relationship in reader.get_relationships(guid, type_name="DataFlow")
            if relationship.end2_guid == guid
        }


def test_sql_queries_are_linked_to_the_tables_the_sqlite_schema_connector_catalogued(
    connector_harness: HarnessFactory, tmp_path: Path
) -> None:
    repository = f"sqlite:///{tmp_path / 'repository.db'}"
    database = shop_database(tmp_path / "shop.db", ORDERS, CUSTOMERS)
    catalogue_sqlite(connector_harness, database, repository)
    write(tmp_path / "dashboards", "shop.json", shop())
    h = dashboards(connector_harness, tmp_path / "dashboards", database, repository)
    h.refresh()
    report = f"grafana:file://{tmp_path / 'dashboards'}/dashboards/shop"
    orders, customers = f"sqlite://{database}/main/orders", f"sqlite://{database}/main/customers"
    assert element_named(h, orders).type_name == "RelationalTable"
    assert data_flows_to(h, f"{report}::panel:2::query:A") == {orders}
    assert data_flows_to(h, f"{report}::panel:5::query:A") == {orders, customers}
    assert data_flows_to(h, f"{report}::panel:3::query:A") == set()  # PromQL
    assert "4 queries, 3 links to tables" in h.audit_records()[-1].text
    assert_refresh_writes_nothing(h)


def test_a_table_catalogued_later_is_linked_by_the_next_refresh_of_an_unchanged_dashboard(
    connector_harness: HarnessFactory, tmp_path: Path
) -> None:
    repository = f"sqlite:///{tmp_path / 'repository.db'}"
    database = shop_database(tmp_path / "shop.db", ORDERS)
    catalogue_sqlite(connector_harness, database, repository)
    write(tmp_path / "dashboards", "shop.json", shop())
    h = dashboards(connector_harness, tmp_path / "dashboards", database, repository)
    h.refresh()
    revenue = f"grafana:file://{tmp_path / 'dashboards'}/dashboards/shop::panel:5::query:A"
    assert data_flows_to(h, revenue) == {f"sqlite://{database}/main/orders"}

    shop_database(database, CUSTOMERS)
    catalogue_sqlite(connector_harness, database, repository)
    h.refresh()
    assert "(1 unchanged)" in h.audit_records()[-1].text
    assert data_flows_to(h, revenue) == {f"sqlite://{database}/main/orders", f"sqlite://{database}/main/customers"}


def test_a_query_that_stops_naming_a_table_is_unlinked_from_it(
    connector_harness: HarnessFactory, tmp_path: Path
) -> None:
    repository = f"sqlite:///{tmp_path / 'repository.db'}"
    database = shop_database(tmp_path / "shop.db", ORDERS, CUSTOMERS)
    catalogue_sqlite(connector_harness, database, repository)
    write(tmp_path / "dashboards", "shop.json", shop())
    h = dashboards(connector_harness, tmp_path / "dashboards", database, repository)
    h.refresh()
    write(tmp_path / "dashboards", "shop.json", shop(sql="SELECT count(*) FROM Customers WHERE $__timeFilter(id)"))
    h.refresh()
    orders_query = f"grafana:file://{tmp_path / 'dashboards'}/dashboards/shop::panel:2::query:A"
    assert data_flows_to(h, orders_query) == {f"sqlite://{database}/main/customers"}  # unquoted: case folded


def test_sql_that_cannot_be_parsed_is_catalogued_without_links(
    connector_harness: HarnessFactory, tmp_path: Path
) -> None:
    repository = f"sqlite:///{tmp_path / 'repository.db'}"
    database = shop_database(tmp_path / "shop.db", ORDERS, CUSTOMERS)
    catalogue_sqlite(connector_harness, database, repository)
    write(tmp_path / "dashboards", "shop.json", shop(sql="SELECT (count(* FROM orders"))
    h = dashboards(connector_harness, tmp_path / "dashboards", database, repository)
    h.refresh()
    query = f"grafana:file://{tmp_path / 'dashboards'}/dashboards/shop::panel:2::query:A"
    assert element_named(h, query).properties["formula"] == "SELECT (count(* FROM orders"
    assert data_flows_to(h, query) == set()
    assert any("could not be parsed" in r.text and "panel:2::query:A" in r.text for r in h.audit_records())


def test_queries_of_a_postgres_data_source_grafana_names_link_to_the_postgres_schema_tables(
    connector_harness: HarnessFactory, postgres_database: str, grafana: GrafanaServer, tmp_path: Path
) -> None:
    repository = f"sqlite:///{tmp_path / 'repository.db'}"
    with psycopg.connect(postgres_database, autocommit=True) as server:
        server.execute(ORDERS.replace("integer primary key", "bigint primary key"))
        server.execute("create schema crm")
        server.execute("create table crm.customers (id bigint primary key, country text)")
    connector_harness(
        PostgresSchemaConnector,
        endpoint=postgres_database,
        repository_url=repository,
        metadata_source_qualified_name="data/warehouse",
    ).refresh()
    info = psycopg.conninfo.conninfo_to_dict(postgres_database)
    grafana.datasources = [
        {
            "uid": "pg-shop",
            "name": "Shop",
            "type": "grafana-postgresql-datasource",
            "url": f"{info['host']}:{info['port']}",
            "jsonData": {"database": info["dbname"]},
            "isDefault": True,
        },
        {"uid": "prom", "name": "Prometheus", "type": "prometheus", "url": "http://127.0.0.1:9090"},
    ]
    revenue = "SELECT sum(o.total) FROM public.orders o JOIN crm.customers c ON c.id = o.customer_id"
    grafana.put(shop(datasource={"type": "grafana-postgresql-datasource", "uid": "pg-shop"}))
    grafana.put(shop(uid="by-default", title="Default data source", datasource=None, sql=revenue))
    h = connector_harness(
        GrafanaDashboardsConnector, endpoint=grafana.base, secrets={"token": GRAFANA_TOKEN}, repository_url=repository
    )
    h.refresh()
    database = f"postgres://{info['host']}:{info['port']}/{info['dbname']}"
    root = f"grafana:{grafana.base}/dashboards"
    assert data_flows_to(h, f"{root}/shop::panel:2::query:A") == {f"{database}.public.orders"}
    assert data_flows_to(h, f"{root}/by-default::panel:2::query:A") == {
        f"{database}.public.orders",
        f"{database}.crm.customers",
    }
    assert element_named(h, f"{root}/shop::panel:2::query:A").properties["queryType"] == "grafana-postgresql-datasource"
    assert links(h, f"{database}.public.orders", f"{root}/shop::panel:2::query:A", type_name="DataFlow")
    assert elements_under(h, "RelationalTable", "grafana:") == {}  # the tables were linked, not catalogued again
    assert_refresh_writes_nothing(h)


def test_the_data_sources_of_a_grafana_provisioning_file_say_which_database_a_dashboard_file_reads(
    connector_harness: HarnessFactory, tmp_path: Path
) -> None:
    repository = f"sqlite:///{tmp_path / 'repository.db'}"
    database = shop_database(tmp_path / "shop.db", ORDERS, CUSTOMERS)
    catalogue_sqlite(connector_harness, database, repository)
    provisioning = tmp_path / "provisioning"
    write(provisioning / "dashboards", "shop.json", shop(datasource={"type": "frser-sqlite-datasource", "uid": "lite"}))
    (provisioning / "datasources").mkdir()
    (provisioning / "datasources" / "shop.yaml").write_text(
        "apiVersion: 1\ndatasources:\n"
        f"  - {{name: Shop, uid: lite, type: frser-sqlite-datasource, jsonData: {{path: '{database}'}}}}\n"
    )
    h = connector_harness(
        GrafanaDashboardsConnector,
        endpoint=str(provisioning / "dashboards"),
        repository_url=repository,
        configuration_properties={"datasourceFiles": [str(provisioning / "datasources" / "shop.yaml")]},
    )
    h.refresh()
    revenue = f"grafana:file://{provisioning / 'dashboards'}/dashboards/shop::panel:5::query:A"
    assert data_flows_to(h, revenue) == {f"sqlite://{database}/main/orders", f"sqlite://{database}/main/customers"}
    assert element_named(h, revenue).properties["queryType"] == "frser-sqlite-datasource"

    (provisioning / "datasources" / "shop.yaml").write_text("datasources: [")
    h.refresh()
    assert any("is not YAML" in r.text and r.severity == "Warning" for r in h.audit_records())
    assert data_flows_to(h, revenue) == {f"sqlite://{database}/main/orders", f"sqlite://{database}/main/customers"}
