"""The dbt-project connector against a real dbt project built by dbt-core + dbt-duckdb (`dbt_project.py`):
what it catalogues, a refresh of an unchanged project writing nothing, a removed model archived, a source linked
to the table the sqlite-schema connector catalogued, and an older (dbt 1.8 shaped) manifest read."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from metaferry_runtime.connectors.dbt_project import DbtProjectConnector
from metaferry_runtime.connectors.sqlite_schema import SqliteSchemaConnector
from metaferry_runtime.testing import (
    HarnessFactory,
    assert_refresh_writes_nothing,
    conformance,
    element_named,
    elements_under,
    relationships_between,
)
from tests.connectors.dbt_project import build_project
from tests.connectors.openapi_server import DocumentServer

PREFIX = "dbt://shop/"


@pytest.fixture(scope="session")
def shop_target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_project(tmp_path_factory.mktemp("dbt"))


def test_models_sources_seeds_and_snapshots_are_data_sets_with_their_sql_and_columns(
    connector_harness: HarnessFactory, shop_target: Path
) -> None:
    harness = connector_harness(DbtProjectConnector, endpoint=str(shop_target))
    harness.refresh()
    data_sets = elements_under(harness, "DataSet", PREFIX)
    kinds = [e.properties["additionalProperties"]["dbtResourceType"] for e in data_sets.values()]
    assert kinds.count("model") == 13 and kinds.count("source") == 4
    assert kinds.count("seed") == 2 and kinds.count("snapshot") == 1
    dim = element_named(harness, PREFIX + "model.shop.dim_customers")
    assert '"warehouse"."main"."stg_customers"' in dim.properties["formula"]
    assert dim.properties["formulaType"] == "SQL (duckdb)"
    value = element_named(harness, PREFIX + "model.shop.dim_customers#lifetime_value")
    assert value.type_name == "TabularColumn"
    assert value.properties["dataType"] == "DECIMAL(38,2)"
    assert value.properties["description"] == "Everything the customer paid."


def test_dependencies_are_data_flows_and_the_exposure_consumes_its_models(
    connector_harness: HarnessFactory, shop_target: Path
) -> None:
    harness = connector_harness(DbtProjectConnector, endpoint=str(shop_target))
    harness.refresh()
    flow = "DataFlow"
    assert relationships_between(
        harness, PREFIX + "source.shop.shop.raw_customers", PREFIX + "model.shop.stg_customers", type_name=flow
    )
    assert relationships_between(
        harness, PREFIX + "model.shop.stg_customers", PREFIX + "model.shop.dim_customers", type_name=flow
    )
    exposure = element_named(harness, PREFIX + "exposure.shop.revenue_dashboard")
    assert exposure.type_name == "Report" and exposure.properties["url"].startswith("https://bi.example.com")
    assert relationships_between(harness, PREFIX + "model.shop.fct_orders", exposure.qualified_name, type_name=flow)
    rules = elements_under(harness, "GovernanceRule", PREFIX)
    assert len(rules) == 9
    unique = next(r for r in rules.values() if r.properties["name"].startswith("unique_stg_customers_customer_id"))
    assert unique.properties["scope"] == "data quality"
    governed = PREFIX + "model.shop.stg_customers#customer_id"
    assert relationships_between(harness, unique.qualified_name, governed, type_name="GovernedBy")


def test_docs_blocks_and_meta_glossary_terms_are_assigned(connector_harness: HarnessFactory, shop_target: Path) -> None:
    harness = connector_harness(DbtProjectConnector, endpoint=str(shop_target))
    harness.refresh()
    terms = elements_under(harness, "GlossaryTerm", PREFIX)
    customer, revenue = PREFIX + "glossary/Customer", PREFIX + "glossary/Revenue"
    doc = PREFIX + "glossary/docs/shop.customer_id"
    assert {customer, revenue, doc} <= set(terms)
    assert relationships_between(harness, PREFIX + "model.shop.dim_customers", customer, type_name="SemanticAssignment")
    column = PREFIX + "model.shop.fct_orders#amount"
    assert relationships_between(harness, column, revenue, type_name="SemanticAssignment")
    assert relationships_between(
        harness, PREFIX + "source.shop.shop.raw_customers#id", doc, type_name="SemanticAssignment"
    )


def test_an_unchanged_project_refreshes_without_a_write(connector_harness: HarnessFactory, shop_target: Path) -> None:
    harness = connector_harness(DbtProjectConnector, endpoint=str(shop_target))
    harness.refresh()
    assert_refresh_writes_nothing(harness)


def test_a_removed_model_is_archived(connector_harness: HarnessFactory, shop_target: Path, tmp_path: Path) -> None:
    smaller = build_project(tmp_path / "smaller", without=("orders_by_status",))
    live = tmp_path / "live"
    live.mkdir()
    for name in ("manifest.json", "catalog.json"):
        (live / name).write_bytes((shop_target / name).read_bytes())
    harness = connector_harness(DbtProjectConnector, endpoint=str(live))
    harness.refresh()
    assert PREFIX + "model.shop.orders_by_status" in elements_under(harness, "DataSet", PREFIX)
    for name in ("manifest.json", "catalog.json"):
        (live / name).write_bytes((smaller / name).read_bytes())
    harness.refresh()
    remaining = elements_under(harness, "DataSet", PREFIX)
    assert PREFIX + "model.shop.orders_by_status" not in remaining
    assert PREFIX + "model.shop.fct_orders" in remaining


def test_a_source_links_to_the_table_the_sqlite_schema_connector_catalogued(
    connector_harness: HarnessFactory, shop_target: Path, tmp_path: Path
) -> None:
    database = tmp_path / "shop.sqlite"
    with sqlite3.connect(database) as connection:
        connection.execute("create table raw_customers (id integer primary key, name text, country text)")
    repository = f"sqlite:///{tmp_path / 'repository.db'}"
    connector_harness(
        SqliteSchemaConnector, endpoint=str(database), repository_url=repository, metadata_source_qualified_name="db"
    ).refresh()
    harness = connector_harness(
        DbtProjectConnector,
        endpoint=str(shop_target),
        repository_url=repository,
        configuration_properties={"warehouseNamespace": f"sqlite://{database}"},
    )
    harness.refresh()
    table = f"sqlite://{database}/main/raw_customers"
    assert element_named(harness, table).type_name == "RelationalTable"
    assert relationships_between(harness, table, PREFIX + "source.shop.shop.raw_customers", type_name="DataFlow")


def test_a_dbt_1_8_manifest_is_read(connector_harness: HarnessFactory, shop_target: Path, tmp_path: Path) -> None:
    """dbt 1.8 wrote schema v12 without doc_blocks: descriptions equal to a docs block still get its term."""
    manifest = json.loads((shop_target / "manifest.json").read_text())
    manifest["metadata"]["dbt_version"] = "1.8.9"
    for section in ("nodes", "sources"):
        for node in manifest[section].values():
            node.pop("doc_blocks", None)
            for column in node.get("columns", {}).values():
                column.pop("doc_blocks", None)
    for key in ("functions", "unit_tests"):
        manifest.pop(key, None)
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    harness = connector_harness(DbtProjectConnector, endpoint=str(tmp_path))
    harness.refresh()
    assert len(elements_under(harness, "DataSet", PREFIX)) == 21  # 20 nodes and the exposure (a Report)
    doc = PREFIX + "glossary/docs/shop.customer_id"
    assert relationships_between(
        harness, PREFIX + "model.shop.stg_customers#customer_id", doc, type_name="SemanticAssignment"
    )


def test_an_older_manifest_schema_is_refused_with_the_versions_read(
    connector_harness: HarnessFactory, shop_target: Path, tmp_path: Path
) -> None:
    manifest = json.loads((shop_target / "manifest.json").read_text())
    manifest["metadata"]["dbt_schema_version"] = "https://schemas.getdbt.com/dbt/manifest/v11.json"
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    harness = connector_harness(DbtProjectConnector, endpoint=str(tmp_path))
    with pytest.raises(Exception, match="v12"):
        harness.refresh()


def test_artifacts_are_fetched_over_http_with_the_bearer_token(
    connector_harness: HarnessFactory, shop_target: Path, document_server: DocumentServer
) -> None:
    document_server.token = "dbt-artifacts-token"
    for name in ("manifest.json", "catalog.json"):
        document_server.put(f"/shop/target/{name}", (shop_target / name).read_bytes())
    harness = connector_harness(
        DbtProjectConnector, endpoint=document_server.url("/shop/target/"), secrets={"token": "dbt-artifacts-token"}
    )
    harness.refresh()
    assert element_named(harness, PREFIX + "model.shop.dim_customers#lifetime_value").properties["dataType"]
    assert document_server.count(200, "/shop/target/catalog.json") == 1


def test_a_manifest_that_is_not_json_fails_the_refresh_and_keeps_what_was_catalogued(
    connector_harness: HarnessFactory, shop_target: Path, tmp_path: Path
) -> None:
    for name in ("manifest.json", "catalog.json"):
        (tmp_path / name).write_bytes((shop_target / name).read_bytes())
    harness = connector_harness(DbtProjectConnector, endpoint=str(tmp_path))
    harness.refresh()
    before = set(elements_under(harness, "DataSet", PREFIX))
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(Exception, match="is not a dbt manifest"):
        harness.refresh()
    (tmp_path / "manifest.json").unlink()
    with pytest.raises(Exception, match="does not exist"):
        harness.refresh()
    assert set(elements_under(harness, "DataSet", PREFIX)) == before


def test_conforms(shop_target: Path) -> None:
    conformance(DbtProjectConnector, endpoint=str(shop_target))
