"""`metaferry lineage` against a real `metaferry-catalog serve`: the files the directory monitor catalogued and
the runs the real OpenLineage client reported to the openlineage-receiver, drawn as a tree each way."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openlineage.client.event_v2 import InputDataset, OutputDataset, RunState

from metaferry_cli.lineage_view import lineage_tree
from metaferry_cli.main import main
from metaferry_runtime.connectors.directory_monitor import DirectoryMonitorConnector
from metaferry_runtime.testing import HarnessFactory
from tests.cli.catalogue_server import READER, serve_catalogue
from tests.connectors.openlineage_client import catalogue_received, client, port_of, run_event, start_receiver

SUMMARY = ("postgres://warehouse:5432", "analytics.public.order_summary")
WEEKLY = ("s3://lake", "reports/weekly")


@pytest.fixture
def catalog(
    connector_harness: HarnessFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, Path]]:
    """orders.csv -> daily_orders -> order_summary -> {weekly_report, audit} -> reports/weekly (a diamond)."""
    url = f"sqlite:///{tmp_path / 'catalogue.db'}"
    root = tmp_path / "lake"
    root.mkdir()
    (root / "orders.csv").write_text("id,total\n1,10\n")
    (root / "readme").write_text("nothing flows from here")
    connector_harness(DirectoryMonitorConnector, endpoint=root, repository_url=url).refresh()

    monkeypatch.setenv("METAFERRY_LISTEN_HOST", "127.0.0.1")
    receiver = start_receiver(connector_harness, journal=tmp_path / "journal", repository_url=url)
    emitter = client(port_of(receiver))
    orders = InputDataset(namespace="file", name=str(root / "orders.csv"))
    emitter.emit(run_event(RunState.COMPLETE, job="daily_orders", inputs=[orders], outputs=[OutputDataset(*SUMMARY)]))
    for job in ("weekly_report", "audit"):
        emitter.emit(
            run_event(RunState.COMPLETE, job=job, inputs=[InputDataset(*SUMMARY)], outputs=[OutputDataset(*WEEKLY)])
        )
    catalogue_received(receiver)
    with serve_catalogue(url, tmp_path) as base:
        yield base, root


def lineage(base: str, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["lineage", *args, "--catalog", base, "--catalog-token", READER])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_downstream_is_a_tree_that_shows_a_rejoining_branch_once(
    catalog: tuple[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    base, root = catalog
    code, out, err = lineage(base, capsys, f"file://{root}/orders.csv", "--depth", "5")
    assert code == 0, err
    assert out == (
        f"CSVFile file://{root}/orders.csv\n"
        "└── DataFlow → Process openlineage:job:airflow/daily_orders\n"
        "    └── DataFlow → DataSet openlineage:postgres://warehouse:5432/analytics.public.order_summary\n"
        "        ├── DataFlow → Process openlineage:job:airflow/audit\n"
        "        │   └── DataFlow → DataSet openlineage:s3://lake/reports/weekly\n"
        "        └── DataFlow → Process openlineage:job:airflow/weekly_report\n"
        "            └── DataFlow → DataSet openlineage:s3://lake/reports/weekly  (shown above)\n"
    )
    code, out, _ = lineage(base, capsys, f"file://{root}/orders.csv", "--depth", "1")
    assert out.splitlines()[1:] == ["└── DataFlow → Process openlineage:job:airflow/daily_orders"]


def test_upstream_walks_back_to_the_file_and_json_is_the_apis_graph(
    catalog: tuple[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    base, root = catalog
    code, out, _ = lineage(base, capsys, "openlineage:s3://lake/reports/weekly", "--upstream", "--depth", "4")
    assert code == 0
    assert out == (
        "DataSet openlineage:s3://lake/reports/weekly\n"
        "├── DataFlow ← Process openlineage:job:airflow/audit\n"
        "│   └── DataFlow ← DataSet openlineage:postgres://warehouse:5432/analytics.public.order_summary\n"
        "│       └── DataFlow ← Process openlineage:job:airflow/daily_orders\n"
        f"│           └── DataFlow ← CSVFile file://{root}/orders.csv\n"
        "└── DataFlow ← Process openlineage:job:airflow/weekly_report\n"
        "    └── DataFlow ← DataSet openlineage:postgres://warehouse:5432/analytics.public.order_summary"
        "  (shown above)\n"
    )
    code, out, _ = lineage(base, capsys, "openlineage:s3://lake/reports/weekly", "--upstream", "-o", "json")
    graph = json.loads(out)
    headers = {"Authorization": f"Bearer {READER}"}
    api = httpx.get(
        f"{base}/api/v1/elements/{graph['root']}/lineage", params={"direction": "upstream"}, headers=headers
    )
    assert graph == api.json() and graph["depth"] == 3 and len(graph["nodes"]) == 5


def test_nothing_to_follow_and_a_depth_out_of_range_are_said_plainly(
    catalog: tuple[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    base, root = catalog
    code, out, _ = lineage(base, capsys, f"file://{root}/readme")
    assert code == 0
    assert out == f"DataFile file://{root}/readme\n  (nothing downstream within 3 hops)\n"
    code, _, err = lineage(base, capsys, f"file://{root}/readme", "--depth", "9")
    assert code == 2 and "400: the catalogue refused the request: depth:" in err


def _graph(edges: list[tuple[str, str]], *, truncated: bool = False) -> dict[str, Any]:
    names = sorted({name for edge in edges for name in edge} | {"a"})
    return {
        "root": "a",
        "depth": 3,
        "truncated": truncated,
        "nodes": [{"guid": n, "type_name": "DataFile", "qualified_name": f"q:{n}", "status": "ACTIVE"} for n in names],
        "edges": [{"type_name": "DataFlow", "end1_guid": one, "end2_guid": two} for one, two in edges],
    }


def test_a_loop_ends_at_the_element_it_returns_to_and_a_truncated_walk_says_so() -> None:
    lines = list(lineage_tree(_graph([("a", "b"), ("b", "a")], truncated=True), upstream=False))
    assert lines == [
        "DataFile q:a",
        "└── DataFlow → DataFile q:b",
        "    └── DataFlow → DataFile q:a  (shown above)",
        "(truncated: the catalogue stops a walk at 2 elements; ask for less --depth)",
    ]
