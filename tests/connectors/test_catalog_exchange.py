"""catalog-exchange against DataHub's own CLI: what it exports `datahub ingest` reads with no failure or warning,
what `datahub ingest` writes (from our export, and from its PostgreSQL source) it imports, and the round trip
export -> ingest -> import gives the same elements, with a second import updating instead of duplicating.

The repository is filled by real connectors (tests/connectors/catalog_exchange_source.py); DataHub's CLI runs
from its own virtualenv (tests/connectors/datahub_cli.py), installed by scripts/install-datahub.sh.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from metaferry_runtime.cli import EXIT_OK, main
from metaferry_runtime.connectors.catalog_exchange import CatalogExchangeConnector
from metaferry_runtime.connectors.catalog_exchange.urns import container_urn
from metaferry_runtime.sdk import ConnectorConfigurationError, ConnectorError
from metaferry_runtime.testing import ConnectorHarness, conformance
from tests.connectors.catalog_exchange_source import differences, elements_owned_by, fill_repository, snapshot
from tests.connectors.datahub_cli import DataHubCli

Harness = ConnectorHarness[CatalogExchangeConnector]
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "catalog-exchange.yaml"


def exchange(repository_url: str, **config: Any) -> Harness:
    return ConnectorHarness.create(
        CatalogExchangeConnector,
        repository_url=repository_url,
        permitted_synchronization="BOTH_DIRECTIONS",
        metadata_source_qualified_name="datahub-exchange",
        configuration_properties=config,
    )


@pytest.fixture
def source(tmp_path: Path) -> str:
    """A repository that sqlite-schema, directory-monitor and an OpenLineage source filled."""
    url = f"sqlite:///{tmp_path / 'source.db'}"
    fill_repository(url, tmp_path)
    return url


@pytest.fixture
def exported(source: str, tmp_path: Path) -> Path:
    path = tmp_path / "export.json"
    with exchange(source, exportPath=str(path)) as harness:
        harness.refresh()
    return path


def records(path: Path) -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = json.loads(path.read_text())
    return loaded


def aspect(path: Path, urn: str, name: str) -> dict[str, Any]:
    found = [r["aspect"]["json"] for r in records(path) if r["entityUrn"] == urn and r["aspectName"] == name]
    assert len(found) == 1, f"{urn} has {len(found)} {name} aspects"
    return found[0]


def import_into(repository_url: str, *paths: Path) -> Harness:
    harness = exchange(repository_url, importPaths=[str(p) for p in paths])
    harness.refresh()
    return harness


# --- export ---------------------------------------------------------------------------------------------------
def test_export_names_tables_files_and_jobs_with_datahubs_urns(exported: Path, tmp_path: Path) -> None:
    shop = tmp_path / "shop.db"
    orders = f"urn:li:dataset:(urn:li:dataPlatform:sqlite,{shop}/main/orders,PROD)"
    report = f"urn:li:dataset:(urn:li:dataPlatform:file,{tmp_path}/landing/report.csv,PROD)"
    schema = aspect(exported, orders, "schemaMetadata")
    assert [(f["fieldPath"], f["nativeDataType"], f["isPartOfKey"]) for f in schema["fields"]] == [
        ("id", "INTEGER", True),
        ("customer_id", "INTEGER", False),
        ("total", "REAL", False),
    ]
    assert schema["fields"][0]["type"] == {"type": {"com.linkedin.schema.NumberType": {}}}
    assert aspect(exported, orders, "subTypes") == {"typeNames": ["Table"]}
    database = container_urn({"platform": "sqlite", "instance": "PROD", "database": str(shop)})
    schema_container = container_urn(
        {"platform": "sqlite", "instance": "PROD", "database": str(shop), "schema": "main"}
    )
    assert aspect(exported, orders, "container") == {"container": schema_container}
    assert aspect(exported, schema_container, "container") == {"container": database}
    assert aspect(exported, database, "subTypes") == {"typeNames": ["Database"]}
    upstreams = {u["dataset"] for u in aspect(exported, report, "upstreamLineage")["upstreams"]}
    assert upstreams == {orders, f"urn:li:dataset:(urn:li:dataPlatform:sqlite,{shop}/main/customers,PROD)"}
    job = "urn:li:dataJob:(urn:li:dataFlow:(openlineage,nightly,PROD),report)"
    assert aspect(exported, job, "dataJobInputOutput")["outputDatasets"] == [report]
    view = f"urn:li:dataset:(urn:li:dataPlatform:sqlite,{shop}/main/big_spenders,PROD)"
    assert "from customers" in aspect(exported, view, "viewProperties")["viewLogic"]
    topic = "urn:li:dataset:(urn:li:dataPlatform:kafka,orders,PROD)"
    assert aspect(exported, topic, "subTypes") == {"typeNames": ["Topic"]}
    properties = aspect(exported, topic, "datasetProperties")["customProperties"]
    assert (properties["partitions"], properties["metaferry.server"]) == ("6", "broker:9092")
    assert aspect(exported, "urn:li:dataset:(urn:li:dataPlatform:s3,archive/orders/2026,PROD)", "status") == {
        "removed": False
    }


def test_datahubs_validation_catches_an_aspect_of_the_wrong_shape(
    exported: Path, datahub: DataHubCli, tmp_path: Path
) -> None:
    """The check above can fail: a status whose `removed` is not a boolean is refused."""
    broken = records(exported)
    status = next(record for record in broken if record["aspectName"] == "status")
    status["aspect"]["json"]["removed"] = "no"
    (tmp_path / "broken.json").write_text(json.dumps(broken))
    assert datahub.invalid_records(tmp_path / "broken.json") == [f"invalid {status['entityUrn']} status"]


def test_containers_get_the_urns_datahubs_own_sdk_computes(exported: Path, datahub: DataHubCli) -> None:
    ours = [r["entityUrn"] for r in records(exported) if r["aspectName"] == "containerProperties"]
    keys = [aspect(exported, urn, "containerProperties")["customProperties"] for urn in ours]
    databases = [urn for urn, key in zip(ours, keys, strict=True) if key["metaferry.typeName"] == "Database"]
    database = keys[ours.index(databases[0])]["databaseInstance"]
    code = (
        "import sys\nfrom datahub.emitter.mcp_builder import DatabaseKey, SchemaKey\n"
        "key = dict(platform='sqlite', env='PROD', backcompat_env_as_instance=True, database=sys.argv[1])\n"
        "print(DatabaseKey(**key).as_urn())\n"
        "print(SchemaKey(**key, schema='main').as_urn())\n"
    )
    theirs = datahub.run_python(code, database).split()
    assert theirs[0] == databases[0]
    assert theirs[1] in ours


def test_an_unchanged_repository_exports_the_same_file_and_leaves_it_alone(source: str, tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    with exchange(source, exportPath=str(path)) as harness:
        harness.refresh()
        first, written = path.read_text(), path.stat().st_mtime_ns
        harness.refresh()
        assert path.read_text() == first
        assert path.stat().st_mtime_ns == written
        assert harness.last_counts is not None and harness.last_counts.created == 0


def test_datahub_ingest_reads_the_export_with_no_failure_or_warning(
    exported: Path, datahub: DataHubCli, tmp_path: Path
) -> None:
    sink = tmp_path / "sink.json"
    assert datahub.invalid_records(exported) == []
    run = datahub.file_to_file(exported, sink, tmp_path / "ingest").check()
    assert run.events == len(records(exported))
    assert {r["entityUrn"] for r in records(sink)} == {r["entityUrn"] for r in records(exported)}


# --- import ---------------------------------------------------------------------------------------------------
def test_round_trip_through_datahub_gives_the_same_elements(
    source: str, exported: Path, datahub: DataHubCli, tmp_path: Path
) -> None:
    sink = tmp_path / "sink.json"
    datahub.file_to_file(exported, sink, tmp_path / "ingest").check()
    target = f"sqlite:///{tmp_path / 'target.db'}"
    with import_into(target, sink) as harness:
        assert harness.report().last_error is None
    assert differences(snapshot(target), snapshot(source)) == []


def test_a_second_import_updates_the_elements_instead_of_duplicating_them(
    source: str, exported: Path, datahub: DataHubCli, tmp_path: Path
) -> None:
    sink = tmp_path / "sink.json"
    datahub.file_to_file(exported, sink, tmp_path / "ingest").check()
    target = f"sqlite:///{tmp_path / 'target.db'}"
    with import_into(target, sink) as harness:
        tables = elements_owned_by(target, "datahub-exchange", "RelationalTable")
        counts = harness.refresh()
        assert (counts.created, counts.updated, counts.archived) == (0, 0, 0)
        edited = records(sink)
        for record in edited:
            if record["aspectName"] == "datasetProperties" and record["entityUrn"].endswith("/main/orders,PROD)"):
                record["aspect"]["json"]["description"] = "every order, one row each"
        sink.write_text(json.dumps(edited))
        counts = harness.refresh()
        assert (counts.created, counts.updated) == (0, 1)
    assert elements_owned_by(target, "datahub-exchange", "RelationalTable") == tables
    orders = snapshot(target)["elements"][f"sqlite://{tmp_path / 'shop.db'}/main/orders"]
    assert orders[1]["description"] == "every order, one row each"


def test_entities_gone_from_the_file_or_marked_removed_are_archived(exported: Path, tmp_path: Path) -> None:
    target = f"sqlite:///{tmp_path / 'target.db'}"
    shop = tmp_path / "shop.db"
    customers = f"urn:li:dataset:(urn:li:dataPlatform:sqlite,{shop}/main/customers,PROD)"
    orders = f"urn:li:dataset:(urn:li:dataPlatform:sqlite,{shop}/main/orders,PROD)"
    with import_into(target, exported) as harness:
        kept = [r for r in records(exported) if r["entityUrn"] != customers]
        for record in kept:
            if record["entityUrn"] == orders and record["aspectName"] == "status":
                record["aspect"]["json"]["removed"] = True
        exported.write_text(json.dumps(kept))
        harness.refresh()
    tables = elements_owned_by(target, "datahub-exchange", "RelationalTable")
    assert f"sqlite://{shop}/main/customers" not in tables
    assert f"sqlite://{shop}/main/orders" not in tables
    assert f"sqlite://{shop}/main/big_spenders" in tables
    assert f"sqlite://{shop}/main/customers#email" not in elements_owned_by(
        target, "datahub-exchange", "RelationalColumn"
    )


def test_a_job_that_no_longer_reads_a_table_loses_that_data_flow(exported: Path, tmp_path: Path) -> None:
    target = f"sqlite:///{tmp_path / 'target.db'}"
    shop = tmp_path / "shop.db"
    job = "urn:li:dataJob:(urn:li:dataFlow:(openlineage,nightly,PROD),report)"
    with import_into(target, exported) as harness:
        flows = snapshot(target)["relationships"]
        customers = f"sqlite://{shop}/main/customers"
        assert ("DataFlow", customers, "openlineage:job:nightly/report") in flows
        edited = records(exported)
        for record in edited:
            if record["entityUrn"] == job and record["aspectName"] == "dataJobInputOutput":
                inputs = record["aspect"]["json"]["inputDatasets"]
                record["aspect"]["json"]["inputDatasets"] = [i for i in inputs if "/main/customers," not in i]
            if record["aspectName"] == "upstreamLineage":  # and DataHub's dataset-level lineage says so too
                upstreams = record["aspect"]["json"]["upstreams"]
                record["aspect"]["json"]["upstreams"] = [u for u in upstreams if "/main/customers," not in u["dataset"]]
        exported.write_text(json.dumps(edited))
        harness.refresh()
    assert snapshot(target)["relationships"] == flows - {("DataFlow", customers, "openlineage:job:nightly/report")}


def test_importing_into_the_repository_it_came_from_links_instead_of_duplicating(source: str, exported: Path) -> None:
    before = snapshot(source)
    with import_into(source, exported) as harness:
        assert harness.report().last_error is None
        context = harness.context
        orders = next(q for q in before["elements"] if q.endswith("/main/orders"))
        table = context.get_catalog_element_by_qualified_name(orders)
        assert table is not None and table.metadata_collection == "shop"
        identifiers = [link.identifier for link in context.get_external_identifiers(table.guid)]
        assert len(identifiers) == 1 and identifiers[0].startswith("urn:li:dataset:(urn:li:dataPlatform:sqlite,")
    assert snapshot(source) == before
    assert elements_owned_by(source, "datahub-exchange", "DataAsset") == []


def test_a_file_that_is_not_datahub_metadata_fails_the_refresh_and_loses_nothing(
    exported: Path, tmp_path: Path
) -> None:
    target = f"sqlite:///{tmp_path / 'target.db'}"
    with import_into(target, exported) as harness:
        before = snapshot(target)
        exported.write_text(
            '[{"entityUrn": "urn:li:dataset:(urn:li:dataPlatform:x,y,PROD)", "aspectName": "schemaMetadata",'
            ' "aspect": {"json": {"fields": [{"nativeDataType": "int"}]}}}]'
        )
        with pytest.raises(ConnectorError, match=r"(?s)record 0 is not valid DataHub metadata: .*fieldPath"):
            harness.refresh()
        exported.write_text("{not json")
        with pytest.raises(ConnectorError, match="is not JSON"):
            harness.refresh()
    assert snapshot(target) == before


def test_datahubs_postgres_source_output_is_imported_as_tables_and_columns(
    postgres_database: str, datahub: DataHubCli, tmp_path: Path
) -> None:
    with psycopg.connect(postgres_database, autocommit=True) as connection:
        connection.execute("create schema sales")
        connection.execute("create table sales.orders (id integer primary key, total numeric(10, 2) not null)")
        connection.execute("comment on table sales.orders is 'one row per order'")
        connection.execute("create view sales.big_orders as select id from sales.orders where total > 100")
    info = psycopg.conninfo.conninfo_to_dict(postgres_database)
    sink = tmp_path / "postgres.json"
    recipe = {
        "source": {
            "type": "postgres",
            "config": {
                "host_port": f"{info.get('host', '127.0.0.1')}:{info.get('port', 5432)}",
                "database": info["dbname"],
                "username": info.get("user", "postgres"),
                "schema_pattern": {"allow": ["sales"]},
                "profiling": {"enabled": False},
            },
        },
        "sink": {"type": "file", "config": {"filename": str(sink)}},
    }
    datahub.ingest(recipe, tmp_path / "ingest").check()
    target = f"sqlite:///{tmp_path / 'target.db'}"
    database = info["dbname"]
    orders_urn = f"urn:li:dataset:(urn:li:dataPlatform:postgres,{database}.sales.orders,PROD)"
    with import_into(target, sink) as harness:
        assert harness.report().last_error is None
        table = harness.context.get_elements_for_external_identifier(orders_urn)
        assert [t.type_name for t in table] == ["RelationalTable"]
        assert table[0].properties["description"] == "one row per order"
        columns = harness.context.get_columns_for_database_table(table[0].guid)
        assert sorted((c.properties["name"], c.properties["isNullable"]) for c in columns) == [
            ("id", False),
            ("total", False),
        ]
        assert [c.properties["name"] for c in columns if c.classification("PrimaryKey")] == ["id"]
        view = harness.context.get_elements_for_external_identifier(
            f"urn:li:dataset:(urn:li:dataPlatform:postgres,{database}.sales.big_orders,PROD)"
        )
        assert [v.type_name for v in view] == ["RelationalView"]
        schemas = harness.context.get_stores_of_data_set(
            harness.context.get_elements_for_external_identifier(
                container_urn({"platform": "postgres", "instance": "PROD", "database": database, "schema": "sales"})
            )[0].guid
        )
        assert [s.type_name for s in schemas] == ["Database"]
        counts = harness.refresh()
        assert (counts.created, counts.updated, counts.archived) == (0, 0, 0)


def test_conforms(exported: Path, tmp_path: Path) -> None:
    conformance(
        CatalogExchangeConnector,
        permitted_synchronization="BOTH_DIRECTIONS",
        configuration_properties={"importPaths": [str(exported)], "exportPath": str(tmp_path / "again.json")},
    )


def test_to_third_party_only_exports_and_from_third_party_only_imports(
    source: str, exported: Path, tmp_path: Path
) -> None:
    export = tmp_path / "out.json"
    config = {"importPaths": [str(exported)], "exportPath": str(export)}
    with ConnectorHarness.create(
        CatalogExchangeConnector,
        repository_url=source,
        permitted_synchronization="TO_THIRD_PARTY",
        configuration_properties=config,
    ) as harness:
        counts = harness.refresh()
    assert (counts.created, counts.updated) == (0, 0)
    assert records(export) == records(exported)
    export.unlink()
    target = f"sqlite:///{tmp_path / 'target.db'}"
    with ConnectorHarness.create(
        CatalogExchangeConnector, repository_url=target, configuration_properties=config
    ) as harness:  # permittedSynchronization defaults to FROM_THIRD_PARTY
        assert harness.refresh().created > 0
    assert not export.exists()


def test_nothing_to_exchange_is_a_configuration_error() -> None:
    with pytest.raises(ConnectorConfigurationError, match="nothing to exchange"):
        ConnectorHarness.create(CatalogExchangeConnector)


def test_the_example_runs_from_the_command_line(
    exported: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    documents = list(yaml.safe_load_all(EXAMPLE.read_text()))
    (connector,) = [document for document in documents if document["kind"] == "IntegrationConnector"]
    assert connector["spec"]["permittedSynchronization"] == "BOTH_DIRECTIONS"
    connector["spec"]["catalogTargets"] = [str(exported)]
    connector["spec"]["connection"]["configurationProperties"]["exportPath"] = str(tmp_path / "to-datahub.json")
    manifest = tmp_path / "catalog-exchange.yaml"
    manifest.write_text(yaml.safe_dump(connector))
    repository = f"sqlite:///{tmp_path / 'run.db'}"
    assert main(["check", str(manifest), "--repository", repository]) == EXIT_OK
    assert f"import {exported}" in capsys.readouterr().out
    assert main(["run", str(manifest), "--once", "--repository", repository]) == EXIT_OK
    assert "result           succeeded" in capsys.readouterr().out
    assert elements_owned_by(repository, "default/datahub-exchange", "RelationalTable")
    assert records(tmp_path / "to-datahub.json") == []  # what it imported is not sent back
