"""grafana-dashboards over Grafana's HTTP API, against a real server on loopback that speaks its paths
(tests/connectors/grafana_server.py): bearer and basic auth from the Secret (never in audit records),
folders, paging, versions, library panels, deletion, a dashboard that fails alone, and the dashboards an npm
package ships."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from metaferry_runtime.connectors.grafana_dashboards import GrafanaDashboardsConnector
from metaferry_runtime.sdk import ConnectorConfigurationError, ConnectorError
from metaferry_runtime.testing import (
    ConnectorHarness,
    HarnessFactory,
    assert_refresh_writes_nothing,
    conformance,
    element_named,
    elements_under,
)
from tests.connectors.grafana_dashboards import legacy, shop
from tests.connectors.grafana_server import GRAFANA_TOKEN, GrafanaServer, serving


def harness(
    factory: HarnessFactory, server: GrafanaServer, *, secrets: dict[str, str] | None = None, **properties: Any
) -> ConnectorHarness[Any]:
    return factory(
        GrafanaDashboardsConnector,
        endpoint=server.base,
        secrets={"token": GRAFANA_TOKEN} if secrets is None else secrets,
        configuration_properties=properties or None,
    )


def audit_texts(h: ConnectorHarness[Any]) -> str:
    return "\n".join(record.text for record in h.audit_records())


def test_dashboards_come_from_the_api_with_their_folder_version_and_times(
    connector_harness: HarnessFactory, grafana: GrafanaServer
) -> None:
    grafana.put(shop(), folder="Sales")
    grafana.put(legacy())
    h = harness(connector_harness, grafana)
    h.refresh()
    root = f"grafana:{grafana.base}/dashboards"
    report = element_named(h, f"{root}/shop").properties
    assert report["url"] == f"{grafana.base}/d/shop/shop"
    assert report["versionIdentifier"] == "1"
    assert report["author"] == "admin" and report["lastModifier"] == "editor"
    assert report["createdTime"] == "2026-01-05T10:00:00Z"
    assert report["additionalProperties"]["folder"] == "Sales"
    assert report["additionalProperties"]["folderUid"] == "f-sales"
    assert element_named(h, f"{root}/legacy").properties["additionalProperties"]["folder"] == "General"
    assert len(elements_under(h, "Query", f"{root}/shop::")) == 4
    assert set(grafana.authorizations) == {f"Bearer {GRAFANA_TOKEN}"}
    assert GRAFANA_TOKEN not in audit_texts(h)


def test_an_unchanged_grafana_writes_nothing_and_a_new_version_is_catalogued(
    connector_harness: HarnessFactory, grafana: GrafanaServer
) -> None:
    grafana.put(shop())
    h = harness(connector_harness, grafana)
    h.refresh()
    grafana.put(shop())  # saved again without a change: Grafana still counts a version
    h.refresh()
    report = f"grafana:{grafana.base}/dashboards/shop"
    assert element_named(h, report).properties["versionIdentifier"] == "2"
    assert_refresh_writes_nothing(h)
    grafana.put(shop(title="Shop (new)"))
    h.refresh()
    assert element_named(h, report).properties["name"] == "Shop (new)"


def test_every_search_page_is_read(connector_harness: HarnessFactory, grafana: GrafanaServer) -> None:
    for number in range(5):
        grafana.put(legacy(uid=f"hosts-{number}", title=f"Hosts {number}"))
    h = harness(connector_harness, grafana, pageSize=2)
    h.refresh()
    assert len(elements_under(h, "Report", f"grafana:{grafana.base}/")) == 5
    assert grafana.requests["/api/search"] == 3


def test_a_deleted_dashboard_is_archived(connector_harness: HarnessFactory, grafana: GrafanaServer) -> None:
    grafana.put(shop())
    grafana.put(legacy())
    h = harness(connector_harness, grafana)
    h.refresh()
    grafana.remove("legacy")
    h.refresh()
    root = f"grafana:{grafana.base}/dashboards"
    assert set(elements_under(h, "Report", root)) == {f"{root}/shop"}
    assert elements_under(h, "Query", f"{root}/legacy::") == {}


def test_a_dashboard_the_server_fails_to_send_fails_alone(
    connector_harness: HarnessFactory, grafana: GrafanaServer
) -> None:
    grafana.put(shop())
    grafana.put(legacy())
    h = harness(connector_harness, grafana)
    h.refresh()
    grafana.failing["legacy"] = 500
    grafana.put(shop(extra=False))
    h.refresh()
    root = f"grafana:{grafana.base}/dashboards"
    assert set(elements_under(h, "Report", root)) == {f"{root}/shop", f"{root}/legacy"}
    assert len(elements_under(h, "Query", f"{root}/legacy::")) == 2
    assert f"{root}/shop::panel:3" not in elements_under(h, "DataContainer", root)
    assert "/api/dashboards/uid/legacy answered 500" in audit_texts(h)


def test_refused_credentials_fail_the_refresh_and_archive_nothing(
    connector_harness: HarnessFactory, grafana: GrafanaServer
) -> None:
    grafana.put(shop())
    h = harness(connector_harness, grafana)
    h.refresh()
    grafana.token = "glsa_another-token-987654321"
    with pytest.raises(ConnectorError, match="refused the credentials"):
        h.refresh()
    assert len(elements_under(h, "Report", f"grafana:{grafana.base}/")) == 1


def test_basic_auth_from_the_secret(connector_harness: HarnessFactory) -> None:
    with serving(basic=("viewer", "viewer-password")) as server:
        server.put(legacy())
        h = harness(connector_harness, server, secrets={"username": "viewer", "password": "viewer-password"})
        h.refresh()
        assert len(elements_under(h, "Report", f"grafana:{server.base}/")) == 1
        assert "viewer-password" not in audit_texts(h)


def test_credentials_in_the_endpoint_are_refused() -> None:
    with pytest.raises(ConnectorConfigurationError, match="holds credentials"):
        ConnectorHarness.create(GrafanaDashboardsConnector, endpoint="http://admin:admin-password@127.0.0.1:3000")


def test_a_token_that_may_not_read_data_sources_is_warned_once(
    connector_harness: HarnessFactory, grafana: GrafanaServer
) -> None:
    grafana.put(shop())
    grafana.datasources_status = 403
    h = harness(connector_harness, grafana)
    h.refresh()
    h.refresh()
    refused = [r for r in h.audit_records() if "could not read the data sources" in r.text]
    assert len(refused) == 1 and refused[0].severity == "Warning"
    assert len(elements_under(h, "Report", f"grafana:{grafana.base}/")) == 1


def test_the_dashboards_an_npm_package_ships_served_by_the_api(
    connector_harness: HarnessFactory, grafana: GrafanaServer, grafana_package_dashboards: Path
) -> None:
    for number, path in enumerate(sorted((grafana_package_dashboards / "prometheus").glob("*.json"))):
        dashboard = json.loads(path.read_text())
        grafana.put({**dashboard, "uid": dashboard.get("uid") or f"imported-{number}"}, folder="swagger-stats")
    h = harness(connector_harness, grafana)
    h.refresh()
    reports = elements_under(h, "Report", f"grafana:{grafana.base}/")
    assert {r.properties["name"] for r in reports.values()} == {
        "swagger-stats API Operation Dashboard",
        "swagger-stats dashboard v3",
    }
    assert len(elements_under(h, "Query", f"grafana:{grafana.base}/")) >= 20
    assert_refresh_writes_nothing(h)


def test_diagnose_names_the_dashboards_and_the_data_sources(
    connector_harness: HarnessFactory, grafana: GrafanaServer
) -> None:
    grafana.put(shop())
    h = harness(connector_harness, grafana)
    steps = h.connector.diagnose()
    assert [(step.name, step.ok) for step in steps] == [
        (f"target {grafana.base}", True),
        (f"data sources of {grafana.base}", True),
    ]
    assert "1 dashboards: Shop" in steps[0].detail


def test_conforms_over_http(grafana: GrafanaServer) -> None:
    grafana.put(shop(), folder="Sales")
    grafana.put(legacy())
    conformance(GrafanaDashboardsConnector, endpoint=grafana.base, secrets={"token": GRAFANA_TOKEN})


def test_behind_a_proxy_that_sends_etags_an_unchanged_dashboard_costs_a_304(
    connector_harness: HarnessFactory, grafana: GrafanaServer
) -> None:
    grafana.etags = True
    grafana.put(shop())
    h = harness(connector_harness, grafana)
    h.refresh()
    assert_refresh_writes_nothing(h)
    assert (grafana.answers[200], grafana.answers[304]) == (1, 1)
    grafana.put(shop(title="Shop (new)"))
    h.refresh()
    assert element_named(h, f"grafana:{grafana.base}/dashboards/shop").properties["name"] == "Shop (new)"
    assert grafana.answers[200] == 2


def test_a_library_panel_is_catalogued_from_its_model_and_a_change_to_the_model_is_seen(
    connector_harness: HarnessFactory, grafana: GrafanaServer
) -> None:
    grafana.library_panels["lib-errors"] = {
        "type": "timeseries",
        "title": "Errors",
        "datasource": {"type": "prometheus", "uid": "prom"},
        "targets": [{"refId": "A", "expr": "sum(rate(errors_total[5m]))"}],
    }
    stub = {
        "id": 9,
        "gridPos": {"h": 8, "w": 12, "x": 0, "y": 0},
        "libraryPanel": {"uid": "lib-errors", "name": "Errors"},
    }
    uses = [{"uid": uid, "title": uid.title(), "schemaVersion": 39, "panels": [stub]} for uid in ("api", "web")]
    for dashboard in uses:
        grafana.put(dashboard)
    h = harness(connector_harness, grafana)
    h.refresh()
    query = f"grafana:{grafana.base}/dashboards/api::panel:9::query:A"
    assert element_named(h, query).properties["formula"] == "sum(rate(errors_total[5m]))"
    panel = element_named(h, f"grafana:{grafana.base}/dashboards/api::panel:9").properties
    assert panel["name"] == "Errors" and panel["additionalProperties"]["libraryPanel"] == "lib-errors"
    assert grafana.requests["/api/library-elements/lib-errors"] == 1  # once for both dashboards
    assert_refresh_writes_nothing(h)

    grafana.library_panels["lib-errors"]["targets"][0]["expr"] = "sum(rate(errors_total[1m]))"
    h.refresh()
    for uid in ("api", "web"):  # neither dashboard's JSON changed
        formula = element_named(h, f"grafana:{grafana.base}/dashboards/{uid}::panel:9::query:A").properties["formula"]
        assert formula == "sum(rate(errors_total[1m]))"


def test_a_library_panel_that_cannot_be_fetched_fails_its_dashboard_alone(
    connector_harness: HarnessFactory, grafana: GrafanaServer
) -> None:
    stub = {"id": 1, "libraryPanel": {"uid": "gone", "name": "Gone"}}
    grafana.put({"uid": "uses-gone", "title": "Uses gone", "panels": [stub]})
    grafana.put(legacy())
    h = harness(connector_harness, grafana)
    h.refresh()
    assert set(elements_under(h, "Report", f"grafana:{grafana.base}/")) == {f"grafana:{grafana.base}/dashboards/legacy"}
    assert "/api/library-elements/gone answered 404" in audit_texts(h)
