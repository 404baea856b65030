"""How grafana-dashboards reads a dashboard's JSON and its SQL, on the cases real dashboards have that the
end-to-end tests do not spell out: data sources named through variables and export inputs, mixed panels,
repeated panel ids, targets without a refId, the API's envelope, and Grafana's SQL templating."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metaferry_runtime.connectors.grafana_dashboards.databases import Databases, table_candidates
from metaferry_runtime.connectors.grafana_dashboards.model import DatasourceRef
from metaferry_runtime.connectors.grafana_dashboards.reading import DashboardUnreadable, read_dashboard
from metaferry_runtime.connectors.grafana_dashboards.sql import TableReference, UnparsableSql, tables_read
from tests.connectors.grafana_dashboards import shop


def dashboard(*panels: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"uid": "d", "title": "D", "schemaVersion": 39, "panels": list(panels), **fields}


def test_a_datasource_variable_and_an_export_input_resolve_to_their_data_source() -> None:
    definition = read_dashboard(
        dashboard(
            {"id": 1, "type": "timeseries", "datasource": {"uid": "$ds"}, "targets": [{"refId": "A", "rawSql": "x"}]},
            {"id": 2, "type": "timeseries", "datasource": "${DS_LOKI}", "targets": [{"refId": "A", "expr": "{a=1}"}]},
            templating={
                "list": [{"type": "datasource", "name": "ds", "query": "postgres", "current": {"value": "pg1"}}]
            },
            __inputs=[{"name": "DS_LOKI", "type": "datasource", "pluginId": "loki"}],
        )
    )
    first, second = (panel.queries[0] for panel in definition.panels)
    assert first.datasource == DatasourceRef(uid="pg1", type="postgres") and first.language == "SQL"
    assert second.datasource == DatasourceRef(type="loki") and second.language == "LogQL"


def test_a_mixed_panel_s_targets_keep_their_own_data_sources_and_others_inherit_the_panel_s() -> None:
    mixed = {"uid": "-- Mixed --", "type": "datasource"}
    definition = read_dashboard(
        dashboard(
            {
                "id": 1,
                "type": "timeseries",
                "datasource": mixed,
                "targets": [{"refId": "A", "datasource": {"type": "prometheus", "uid": "p"}, "expr": "up"}],
            },
            {"id": 2, "type": "table", "datasource": {"type": "mysql", "uid": "m"}, "targets": [{"rawSql": "s"}]},
        )
    )
    assert definition.panels[0].queries[0].datasource == DatasourceRef(uid="p", type="prometheus")
    assert definition.panels[1].queries[0].datasource == DatasourceRef(uid="m", type="mysql")


def test_repeated_panel_ids_and_missing_ref_ids_still_give_every_panel_and_target_its_own_key() -> None:
    definition = read_dashboard(
        dashboard(
            {"id": 7, "type": "stat", "targets": [{"expr": "a"}, {"expr": "b"}, {"refId": "A", "expr": "c"}]},
            {"id": 7, "type": "stat"},
            {"type": "text"},
        )
    )
    assert [panel.key for panel in definition.panels] == ["panel:7", "panel:7~2", "panel:p3"]
    assert [query.ref_id for query in definition.panels[0].queries] == ["A", "B", "A~2"]


def test_the_api_envelope_gives_the_folder_and_times() -> None:
    definition = read_dashboard(
        {"dashboard": shop(), "meta": {"folderTitle": "Sales", "folderUid": "s", "created": "2026-01-01T00:00:00Z"}},
        folder="ignored",
    )
    assert (definition.folder, definition.folder_uid, definition.created) == ("Sales", "s", "2026-01-01T00:00:00Z")


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ([], "not a JSON object"),
        ({"title": "x"}, "not a Grafana dashboard"),
        ({"panels": []}, "no title"),
        ({"title": "x", "panels": {"a": 1}}, "panels is not a list"),
        ({"title": "x", "panels": [{"id": 1, "targets": "expr"}]}, "targets is not a list"),
        ({"title": "x", "panels": [{"id": 1, "datasource": 3}]}, "neither a name nor an object"),
    ],
)
def test_what_is_not_a_dashboard_is_refused_with_the_reason(document: Any, reason: str) -> None:
    with pytest.raises(DashboardUnreadable, match=reason):
        read_dashboard(document)


def test_grafana_macros_and_variables_do_not_hide_the_tables_of_the_sql() -> None:
    sql = (
        "WITH recent AS (SELECT * FROM shop.orders WHERE $__timeFilter(created_at))"
        " SELECT $__timeGroupAlias(r.created_at, '5m'), count(*) FROM recent r"
        ' JOIN "Customers" c ON c.id = r.customer_id AND c.region IN (${region:sqlstring}) AND c.tier = [[tier]]'
        " WHERE r.id NOT IN (SELECT order_id FROM refunds) GROUP BY 1"
    )
    assert set(tables_read(sql, datasource_type="grafana-postgresql-datasource")) == {
        TableReference("orders", "shop"),
        TableReference("Customers", quoted=True),
        TableReference("refunds"),
    }


def test_a_table_named_by_a_variable_or_a_table_function_is_no_table() -> None:
    assert tables_read("SELECT * FROM $table_name", datasource_type="postgres") == []
    assert tables_read("SELECT * FROM generate_series(1, 10)", datasource_type="postgres") == []


def test_sql_that_does_not_parse_says_where() -> None:
    with pytest.raises(UnparsableSql, match="line 1"):
        tables_read("SELECT (count(* FROM orders", datasource_type="postgres")


def test_table_names_follow_the_database_connectors_rule() -> None:
    postgres = "postgres://db:5432/shop"
    assert table_candidates(postgres, TableReference("Orders")) == (
        "postgres://db:5432/shop.public.Orders",
        "postgres://db:5432/shop.public.orders",
    )
    assert table_candidates(postgres, TableReference("t", "s", "other", quoted=True)) == (
        "postgres://db:5432/other.s.t",
    )
    assert table_candidates("sqlite:///data/shop.db", TableReference("orders")) == (
        "sqlite:///data/shop.db/main/orders",
    )


def test_a_data_source_s_database_comes_from_the_property_before_what_grafana_says() -> None:
    databases = Databases({"Shop": "postgres://warehouse:5432/shop", "lite": "sqlite://relative/shop.db"})
    databases.learn(
        [
            {"uid": "a", "name": "Shop", "type": "postgres", "url": "pg:6543", "jsonData": {"database": "x"}},
            {"uid": "b", "name": "Other", "type": "grafana-postgresql-datasource", "url": "pg", "database": "y"},
            {"uid": "c", "name": "Lite", "type": "frser-sqlite-datasource", "jsonData": {"path": "/d/l.db"}},
            {"uid": "d", "name": "Prom", "type": "prometheus", "url": "http://p:9090", "isDefault": True},
        ]
    )
    assert databases.database_of(DatasourceRef(uid="a", name="Shop")) == "postgres://warehouse:5432/shop"
    assert databases.database_of(DatasourceRef(uid="a")) == "postgres://pg:6543/x"
    assert databases.database_of(DatasourceRef(name="Other")) == "postgres://pg:5432/y"
    assert databases.database_of(DatasourceRef(uid="c")) == "sqlite:///d/l.db"
    assert databases.database_of(None) is None  # the default is Prometheus
    assert databases.type_of(None) == "prometheus"
    assert databases.database_of(DatasourceRef(name="lite")).endswith("/relative/shop.db")  # type: ignore[union-attr]


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
_keys = st.sampled_from(["panels", "rows", "title", "uid", "datasource", "targets", "type", "templating", "tags"])
_dashboardish = st.recursive(
    _json,
    lambda children: st.dictionaries(_keys, children, max_size=6) | st.lists(children, max_size=3),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(document=_dashboardish)
def test_any_json_is_a_dashboard_or_refused_never_another_error(document: Any) -> None:
    with contextlib.suppress(DashboardUnreadable):
        read_dashboard(document)
