"""grafana-dashboards over a directory of dashboard JSON files, as Grafana provisions them: both dashboard
shapes (grafanalib-built), the real dashboards an npm package ships, folders from subdirectories, deletion
detection, a dashboard that fails alone, the test kit's conformance suite, and `metaferry-runtime check` / `run`
on the example."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from metaferry_runtime import cli
from metaferry_runtime.connectors.grafana_dashboards import GrafanaDashboardsConnector
from metaferry_runtime.connectors.sqlite_schema import SqliteSchemaConnector
from metaferry_runtime.sdk import ConnectorConfigurationError, ConnectorError
from metaferry_runtime.testing import (
    ConnectorHarness,
    HarnessFactory,
    assert_refresh_writes_nothing,
    conformance,
    element_named,
    elements_under,
    last_refresh_changes,
)
from metaferry_runtime.testing import relationships_between as links
from tests.connectors.grafana_dashboards import ORDERS_SQL, REVENUE_SQL, UP_EXPR, legacy, shop, write
from tests.connectors.grafana_server import GRAFANA_TOKEN, GrafanaServer


def harness(factory: HarnessFactory, endpoint: Path | str, **properties: Any) -> ConnectorHarness[Any]:
    return factory(GrafanaDashboardsConnector, endpoint=str(endpoint), configuration_properties=properties or None)


def warnings(h: ConnectorHarness[Any]) -> list[str]:
    return [record.text for record in h.audit_records() if record.severity == "Warning"]


def test_a_flat_dashboard_with_a_collapsed_row_becomes_a_report_with_panels_and_queries(
    connector_harness: HarnessFactory, tmp_path: Path
) -> None:
    write(tmp_path, "Sales/shop.json", shop())
    h = harness(connector_harness, tmp_path)
    h.refresh()
    report_name = f"grafana:file://{tmp_path}/dashboards/shop"
    report = element_named(h, report_name)
    assert report.type_name == "Report"
    assert report.properties["name"] == "Shop" and report.properties["description"] == "Orders and revenue"
    assert report.properties["url"] == f"file://{tmp_path}/Sales/shop.json"
    assert report.properties["additionalProperties"]["folder"] == "Sales"
    assert report.properties["additionalProperties"]["tags"] == "sales, shop"

    containers = elements_under(h, "DataContainer", report_name + "::")
    assert {name.split("::")[1]: c.properties["name"] for name, c in containers.items()} == {
        "row:1": "Overview",
        "panel:2": "Orders",
        "panel:3": "Targets up",
        "row:4": "Details",
        "panel:5": "Revenue",  # inside the collapsed row
    }
    revenue = containers[f"{report_name}::panel:5"].properties["additionalProperties"]
    assert revenue["row"] == f"{report_name}::row:4" and revenue["panelType"] == "stat"
    assert containers[f"{report_name}::row:4"].properties["additionalProperties"]["collapsed"] == "true"

    queries = elements_under(h, "Query", report_name + "::")
    assert {
        name.removeprefix(report_name + "::"): (q.properties["formula"], q.properties.get("formulaType"))
        for name, q in queries.items()
    } == {
        "panel:2::query:A": (ORDERS_SQL, "SQL"),
        "panel:3::query:A": (UP_EXPR, "PromQL"),
        "panel:3::query:B": ("up", "PromQL"),
        "panel:5::query:A": (REVENUE_SQL, "SQL"),
    }
    assert queries[f"{report_name}::panel:3::query:B"].properties["additionalProperties"]["hidden"] == "true"
    for name in queries:
        assert links(h, report_name, name, type_name="DashboardQuery")
    for name in containers:
        assert links(h, report_name, name, type_name="AssetSchemaType")


def test_a_dashboard_of_rows_the_shape_before_schema_version_16_is_read_too(
    connector_harness: HarnessFactory, tmp_path: Path
) -> None:
    write(tmp_path, "legacy.json", legacy())
    h = harness(connector_harness, tmp_path)
    h.refresh()
    report_name = f"grafana:file://{tmp_path}/dashboards/legacy"
    assert "folder" not in element_named(h, report_name).properties["additionalProperties"]
    containers = elements_under(h, "DataContainer", report_name + "::")
    assert sorted(name.split("::")[1] for name in containers) == ["panel:1", "panel:2", "row:1", "row:2"]
    free = containers[f"{report_name}::panel:2"].properties["additionalProperties"]
    assert free["row"] == f"{report_name}::row:2"
    assert containers[f"{report_name}::row:2"].properties["additionalProperties"]["collapsed"] == "true"
    formulas = {q.properties["formula"] for q in elements_under(h, "Query", report_name + "::").values()}
    assert formulas == {"node_load1", "node_memory_MemFree_bytes"}


def test_an_unchanged_directory_writes_nothing(connector_harness: HarnessFactory, tmp_path: Path) -> None:
    write(tmp_path, "Sales/shop.json", shop())
    write(tmp_path, "legacy.json", legacy())
    h = harness(connector_harness, tmp_path)
    h.refresh()
    assert_refresh_writes_nothing(h)
    assert "0 dashboards" in h.audit_records()[-1].text and "(2 unchanged)" in h.audit_records()[-1].text


def test_a_removed_file_archives_its_dashboard_and_a_removed_panel_only_that_panel(
    connector_harness: HarnessFactory, tmp_path: Path
) -> None:
    shop_file = write(tmp_path, "Sales/shop.json", shop())
    legacy_file = write(tmp_path, "legacy.json", legacy())
    h = harness(connector_harness, tmp_path)
    h.refresh()
    root = f"grafana:file://{tmp_path}/dashboards"

    legacy_file.unlink()
    h.refresh()
    assert set(elements_under(h, "Report", root)) == {f"{root}/shop"}
    assert elements_under(h, "DataContainer", f"{root}/legacy::") == {}
    assert elements_under(h, "Query", f"{root}/legacy::") == {}

    write(tmp_path, "Sales/shop.json", shop(extra=False))  # the "Targets up" panel is gone
    h.refresh()
    archived = last_refresh_changes(h).archived
    assert archived == {f"{root}/shop::panel:3", f"{root}/shop::panel:3::query:A", f"{root}/shop::panel:3::query:B"}
    assert f"{root}/shop::panel:5" in elements_under(h, "DataContainer", f"{root}/shop::")
    assert shop_file.exists()


def test_a_broken_file_fails_alone_and_keeps_what_it_held(connector_harness: HarnessFactory, tmp_path: Path) -> None:
    legacy_file = write(tmp_path, "legacy.json", legacy())
    write(tmp_path, "Sales/shop.json", shop())
    write(tmp_path, "notes.json", '{"not": "a dashboard"}')
    h = harness(connector_harness, tmp_path)
    h.refresh()
    root = f"grafana:file://{tmp_path}/dashboards"
    assert set(elements_under(h, "Report", root)) == {f"{root}/legacy", f"{root}/shop"}
    assert any("notes.json" in text and "not a Grafana dashboard" in text for text in warnings(h))

    write(tmp_path, "legacy.json", '{"title": "Legacy hosts", "panels": [')  # a save cut short
    write(tmp_path, "Sales/shop.json", shop(extra=False))
    h.refresh()
    assert set(elements_under(h, "Report", root)) == {f"{root}/legacy", f"{root}/shop"}
    assert len(elements_under(h, "Query", f"{root}/legacy::")) == 2  # nothing of the broken one archived
    assert f"{root}/shop::panel:3" not in elements_under(h, "DataContainer", root)  # the changed one was
    assert any(str(legacy_file) in text and "is not JSON" in text for text in warnings(h))
    assert h.report().last_error is None


def test_two_files_with_one_uid_catalogue_the_first_and_refuse_the_second(
    connector_harness: HarnessFactory, tmp_path: Path
) -> None:
    write(tmp_path, "a/shop.json", shop(title="Shop A"))
    write(tmp_path, "b/shop.json", shop(title="Shop B"))
    h = harness(connector_harness, tmp_path)
    h.refresh()
    assert element_named(h, f"grafana:file://{tmp_path}/dashboards/shop").properties["name"] == "Shop A"
    assert any("b/shop.json" in text and "its uid shop is also that of" in text for text in warnings(h))


def test_a_dashboard_without_uid_is_named_by_its_path(connector_harness: HarnessFactory, tmp_path: Path) -> None:
    dashboard = legacy()
    del dashboard["uid"]
    write(tmp_path, "ops/hosts.json", dashboard)
    h = harness(connector_harness, tmp_path)
    h.refresh()
    assert element_named(h, f"grafana:file://{tmp_path}/dashboards/ops/hosts.json").properties["name"] == "Legacy hosts"


def test_the_dashboards_an_npm_package_ships_are_catalogued(
    connector_harness: HarnessFactory, grafana_package_dashboards: Path, tmp_path: Path
) -> None:
    """swagger-stats ships a rows-shaped (schema 14) and a flat (schema 26) Prometheus dashboard, exported
    with `${DS_PROMETHEUS}` inputs, and a Kibana export that is no Grafana dashboard."""
    directory = tmp_path / "swagger-stats"
    shutil.copytree(grafana_package_dashboards, directory)
    h = harness(connector_harness, directory)
    h.refresh()
    root = f"grafana:file://{directory}/dashboards"
    reports = elements_under(h, "Report", root)
    assert {r.properties["name"] for r in reports.values()} == {
        "swagger-stats API Operation Dashboard",
        "swagger-stats dashboard v3",
    }
    operation = next(name for name, r in reports.items() if r.properties["name"].endswith("Operation Dashboard"))
    assert operation == f"{root}/prometheus/swagger-stats API Operation dashboard.json"  # it has no uid
    rows = [c for c in elements_under(h, "DataContainer", operation + "::").values() if c.properties["usage"] == "row"]
    assert len(rows) == 3
    v3 = f"{root}/IcqsUmcGz"
    queries = elements_under(h, "Query", v3 + "::")
    assert len(queries) >= 12
    assert {q.properties["formulaType"] for q in queries.values()} == {"PromQL"}  # the __inputs' pluginId
    assert any(q.properties["formula"] == "api_all_request_total" for q in queries.values())
    assert any("elastic6/swagger-stats.json" in text for text in warnings(h))
    assert_refresh_writes_nothing(h)


def test_a_missing_directory_fails_the_refresh_and_archives_nothing(
    connector_harness: HarnessFactory, tmp_path: Path
) -> None:
    write(tmp_path / "dashboards", "legacy.json", legacy())
    h = harness(connector_harness, tmp_path / "dashboards")
    h.refresh()
    shutil.rmtree(tmp_path / "dashboards")
    with pytest.raises(ConnectorError, match="no target could be listed"):
        h.refresh()
    assert len(elements_under(h, "Report")) == 1


def test_more_directories_come_from_the_catalog_targets(connector_harness: HarnessFactory, tmp_path: Path) -> None:
    write(tmp_path / "one", "legacy.json", legacy())
    write(tmp_path / "two", "shop.json", shop())
    h = connector_harness(
        GrafanaDashboardsConnector, endpoint=str(tmp_path / "one"), catalog_targets=[f"file://{tmp_path / 'two'}"]
    )
    h.refresh()
    assert set(elements_under(h, "Report")) == {
        f"grafana:file://{tmp_path / 'one'}/dashboards/legacy",
        f"grafana:file://{tmp_path / 'two'}/dashboards/shop",
    }


def test_no_endpoint_and_no_targets_is_a_configuration_error() -> None:
    with pytest.raises(ConnectorConfigurationError, match=r"needs connection\.endpoint or catalogTargets"):
        ConnectorHarness.create(GrafanaDashboardsConnector)


def test_conforms(tmp_path: Path) -> None:
    write(tmp_path, "Sales/shop.json", shop())
    write(tmp_path, "legacy.json", legacy())
    conformance(GrafanaDashboardsConnector, endpoint=str(tmp_path))


def test_the_example_links_its_dashboard_to_the_tables_of_the_example_shop(
    connector_harness: HarnessFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """examples/grafana-dashboards-connector.yaml as its comment runs it, from a copy of the repository's
    examples (its paths are relative to the working directory)."""
    examples = Path(__file__).resolve().parents[2] / "examples"
    shutil.copytree(examples / "sample-dashboards", tmp_path / "examples" / "sample-dashboards")
    (tmp_path / ".tmp").mkdir()
    with sqlite3.connect(tmp_path / ".tmp" / "shop.db") as shop_file:
        shop_file.executescript((examples / "shop.sql").read_text())
    monkeypatch.chdir(tmp_path)
    repository = f"sqlite:///{tmp_path / 'metaferry.db'}"
    connector_harness(
        SqliteSchemaConnector,
        examples / "sqlite-connector.yaml",
        repository_url=repository,
    ).refresh()
    h = connector_harness(
        GrafanaDashboardsConnector,
        examples / "grafana-dashboards-connector.yaml",
        repository_url=repository,
    )
    h.refresh()
    tables = f"sqlite://{tmp_path}/.tmp/shop.db/main/"
    report = f"grafana:file://{tmp_path}/examples/sample-dashboards/dashboards/shop-sales"
    assert element_named(h, report).properties["additionalProperties"]["folder"] == "Sales"
    for query, table in [
        ("panel:2::query:A", "orders"),
        ("panel:3::query:A", "order_totals"),  # a view
        ("panel:5::query:A", "products"),  # in the collapsed row
    ]:
        assert links(h, tables + table, f"{report}::{query}", type_name="DataFlow")


def test_a_file_repeating_the_uid_of_an_unchanged_one_is_refused_too(
    connector_harness: HarnessFactory, tmp_path: Path
) -> None:
    write(tmp_path, "a/shop.json", shop(title="Shop A"))
    h = harness(connector_harness, tmp_path)
    h.refresh()
    write(tmp_path, "b/shop.json", shop(title="Shop B"))
    h.refresh()
    assert element_named(h, f"grafana:file://{tmp_path}/dashboards/shop").properties["name"] == "Shop A"
    assert any("b/shop.json" in text and "its uid shop is also that of" in text for text in warnings(h))


def test_metaferry_runtime_check_and_run_the_example(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The commands of the example's comment, as a user types them (from a copy of the examples)."""
    examples = Path(__file__).resolve().parents[2] / "examples"
    shutil.copytree(examples, tmp_path / "examples")
    (tmp_path / ".tmp").mkdir()
    with sqlite3.connect(tmp_path / ".tmp" / "shop.db") as shop_file:
        shop_file.executescript((examples / "shop.sql").read_text())
    monkeypatch.chdir(tmp_path)
    repository = ["--repository", f"sqlite:///{tmp_path / 'metaferry.db'}"]
    assert cli.main(["run", "examples/sqlite-connector.yaml", "--once", *repository]) == 0
    capsys.readouterr()
    assert cli.main(["check", "examples/grafana-dashboards-connector.yaml", *repository]) == 0
    out = capsys.readouterr().out
    assert "ok   target examples/sample-dashboards 1 dashboards" in out
    assert "ok   dry-run refresh  would create 9" in out  # the report, 5 containers, 3 queries
    assert cli.main(["run", "examples/grafana-dashboards-connector.yaml", "--once", *repository]) == 0
    capsys.readouterr()
    cli.main(["elements", "--type", "Query", *repository])
    assert "(3 elements)" in capsys.readouterr().out


def test_metaferry_runtime_check_names_the_grafana_steps_with_the_token_masked(
    tmp_path: Path, grafana: GrafanaServer, capsys: pytest.CaptureFixture[str]
) -> None:
    grafana.put(shop())
    manifest = tmp_path / "grafana.yaml"
    manifest.write_text(
        "apiVersion: metaferry.io/v1alpha1\nkind: IntegrationConnector\nmetadata: {name: grafana}\n"
        f"spec:\n  integrationService: display\n  connector: grafana-dashboards\n"
        f"  connection: {{endpoint: '{grafana.base}', secretRef: {{name: grafana-viewer}}}}\n"
    )
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "token").write_text(GRAFANA_TOKEN)
    argv = ["check", str(manifest), "--repository", f"sqlite:///{tmp_path / 'r.db'}", "--secrets-dir", str(secrets)]
    assert cli.main(argv) == 0
    captured = capsys.readouterr()
    assert f"ok   target {grafana.base} 1 dashboards: Shop" in captured.out
    assert f"ok   data sources of {grafana.base} 0 data sources" in captured.out
    assert GRAFANA_TOKEN not in captured.out + captured.err
