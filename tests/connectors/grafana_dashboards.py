"""Real dashboard JSON for the grafana-dashboards tests, built with grafanalib (the library teams generate
their dashboards with), in both of Grafana's shapes: the flat `panels` list with row panels (one of them
collapsed, holding its panels) and the `rows` of dashboards before schema version 16."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grafanalib._gen import DashboardEncoder
from grafanalib.core import Dashboard, Graph, GridPos, Row, RowPanel, SqlTarget, Stat, Target, TimeSeries

ORDERS_SQL = (
    "SELECT $__timeGroupAlias(created_at, $__interval), count(*) FROM orders"
    " WHERE $__timeFilter(created_at) AND region IN ($region) GROUP BY 1 ORDER BY 1"
)
REVENUE_SQL = "SELECT sum(o.total) FROM orders o JOIN customers c ON c.id = o.customer_id WHERE c.country = '$country'"
PROMETHEUS = "prometheus"
UP_EXPR = 'sum(up{job="shop"})'


def as_json(dashboard: Dashboard) -> dict[str, Any]:
    """The dashboard as Grafana stores it (grafanalib's own encoder)."""
    result: dict[str, Any] = json.loads(json.dumps(dashboard.to_json_data(), cls=DashboardEncoder))
    return result


def shop(
    *, uid: str = "shop", title: str = "Shop", datasource: Any = "shopdb", sql: str = ORDERS_SQL, extra: bool = True
) -> dict[str, Any]:
    """Flat panels: row "Overview" (Orders over time: SQL; Targets up: PromQL), collapsed row "Details"
    holding Revenue (SQL joining two tables). Without `extra`, the PromQL panel is gone (the others keep
    their ids, as Grafana keeps them when a panel is deleted)."""
    overview = [
        TimeSeries(
            title="Orders",
            id=2,
            dataSource=datasource,
            targets=[SqlTarget(rawSql=sql, refId="A")],
            gridPos=GridPos(h=8, w=12, x=0, y=1),
        )
    ]
    if extra:
        overview.append(
            TimeSeries(
                title="Targets up",
                id=3,
                dataSource=PROMETHEUS,
                targets=[Target(expr=UP_EXPR, refId="A"), Target(expr="up", refId="B", hide=True)],
                gridPos=GridPos(h=8, w=12, x=12, y=1),
            )
        )
    details = RowPanel(
        title="Details",
        id=4,
        collapsed=True,
        gridPos=GridPos(h=1, w=24, x=0, y=9),
        panels=[
            Stat(
                title="Revenue",
                id=5,
                dataSource=datasource,
                targets=[SqlTarget(rawSql=REVENUE_SQL, refId="A")],
                gridPos=GridPos(h=8, w=12, x=0, y=10),
            )
        ],
    )
    dashboard = Dashboard(
        title=title,
        uid=uid,
        description="Orders and revenue",
        tags=["sales", "shop"],
        panels=[RowPanel(title="Overview", id=1, gridPos=GridPos(h=1, w=24, x=0, y=0)), *overview, details],
    ).auto_panel_ids()
    return as_json(dashboard)


def legacy(*, uid: str = "legacy", title: str = "Legacy hosts") -> dict[str, Any]:
    """The `rows` shape: two rows, each with a Prometheus graph."""
    dashboard = Dashboard(
        title=title,
        uid=uid,
        rows=[
            Row(title="CPU", panels=[Graph(title="Load", dataSource=PROMETHEUS, targets=[Target(expr="node_load1")])]),
            Row(
                title="Memory",
                collapse=True,
                panels=[Graph(title="Free", dataSource=PROMETHEUS, targets=[Target(expr="node_memory_MemFree_bytes")])],
            ),
        ],
    ).auto_panel_ids()
    return as_json(dashboard)


def write(directory: Path, relative: str, dashboard: dict[str, Any] | str) -> Path:
    path = directory / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dashboard if isinstance(dashboard, str) else json.dumps(dashboard, indent=2))
    return path
