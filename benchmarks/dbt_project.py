"""dbt-project refresh time on a synthetic manifest of 2,000 models, beside a floor measured in the same run.

Writes a manifest (schema v12) and catalog of N models (default 2,000; 8 columns each, each depending on
two earlier models or a source), 50 sources, a not_null test per model and an exposure, then drives the
connector with the test kit's harness (the runtime's configuration path, each refresh in its one
transaction) over an embedded SQLite repository.

1. First refresh. Floor: parsing the same manifest and catalog with the connector's own models and plan,
   then writing the same elements and DataFlow links by the repository's bulk upserts, bare. Target ≤ 5 s.
2. A second refresh with nothing changed (digests match: only marked seen). Target ≤ 1 s.

Run: python benchmarks/dbt_project.py [--models N]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import stopwatch, table

from metaferry_runtime.connectors.dbt_project import DbtProjectConnector
from metaferry_runtime.connectors.dbt_project.artifacts import parse_catalog, parse_manifest
from metaferry_runtime.connectors.dbt_project.entries import plan
from metaferry_runtime.repository import open_repository
from metaferry_runtime.testing import ConnectorHarness

SOURCES = 50
COLUMNS = 8


def write_artifacts(target: Path, models: int) -> None:
    version = "https://schemas.getdbt.com/dbt/manifest/v12.json"
    nodes: dict[str, object] = {}
    catalog: dict[str, object] = {}
    sources = {
        f"source.bench.raw.t{i}": {
            "unique_id": f"source.bench.raw.t{i}",
            "name": f"t{i}",
            "source_name": "raw",
            "package_name": "bench",
            "database": "warehouse",
            "schema": "raw",
            "identifier": f"t{i}",
            "description": f"raw table {i}",
        }
        for i in range(SOURCES)
    }
    for i in range(models):
        unique_id = f"model.bench.m{i}"
        parents = [f"model.bench.m{j}" for j in (i // 2, i // 3) if j < i] or [f"source.bench.raw.t{i % SOURCES}"]
        columns = {f"c{k}": {"name": f"c{k}", "description": f"column {k} of m{i}"} for k in range(COLUMNS)}
        nodes[unique_id] = {
            "unique_id": unique_id,
            "resource_type": "model",
            "name": f"m{i}",
            "package_name": "bench",
            "database": "warehouse",
            "schema": "main",
            "alias": f"m{i}",
            "description": f"model {i}",
            "columns": columns,
            "depends_on": {"nodes": sorted(set(parents))},
            "config": {"materialized": "table", "meta": {"glossary": [f"term{i % 20}"]}},
            "compiled_code": f"select * from {', '.join(parents)}",
        }
        catalog[unique_id] = {
            "columns": {f"c{k}": {"name": f"c{k}", "type": "INTEGER", "index": k + 1} for k in range(COLUMNS)}
        }
        test_id = f"test.bench.not_null_m{i}_c0"
        nodes[test_id] = {
            "unique_id": test_id,
            "resource_type": "test",
            "name": f"not_null_m{i}_c0",
            "package_name": "bench",
            "column_name": "c0",
            "attached_node": unique_id,
            "depends_on": {"nodes": [unique_id]},
            "test_metadata": {"name": "not_null", "kwargs": {"column_name": "c0"}},
        }
    exposures = {
        "exposure.bench.board": {
            "unique_id": "exposure.bench.board",
            "name": "board",
            "type": "dashboard",
            "package_name": "bench",
            "depends_on": {"nodes": [f"model.bench.m{models - 1}"]},
        }
    }
    manifest = {
        "metadata": {"dbt_schema_version": version, "dbt_version": "1.12.6", "project_name": "bench"},
        "nodes": nodes,
        "sources": sources,
        "exposures": exposures,
    }
    target.mkdir(parents=True, exist_ok=True)
    (target / "manifest.json").write_text(json.dumps(manifest))
    (target / "catalog.json").write_text(json.dumps({"nodes": catalog, "sources": {}}))


def floor(target: Path, repository_url: str) -> tuple[float, int]:
    """Parse and plan as the connector does, then bare bulk upserts of the same elements and data flows."""
    with stopwatch() as elapsed:
        manifest = parse_manifest((target / "manifest.json").read_bytes(), "manifest")
        project = plan(manifest, parse_catalog((target / "catalog.json").read_bytes(), "catalog"))
        items = [(e.type_name, e.qualified_name, e.properties) for e in project.entries]
        items += [("TabularColumn", name, properties) for e in project.entries for name, properties in e.columns]
        repository = open_repository(repository_url)
        with repository.transaction(actor="floor") as transaction:
            guids = {item[1]: guid for item, (guid, _) in zip(items, transaction.upsert_elements(items), strict=True)}
            flows = [
                ("DataFlow", guids[supplier], guids[e.qualified_name], None)
                for e in project.entries
                for supplier in e.suppliers
            ]
            transaction.upsert_relationships(flows)
        repository.close()
    return elapsed[0], len(items)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=2_000)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="metaferry-bench-") as work:
        target = Path(work) / "target"
        write_artifacts(target, arguments.models)
        floor_seconds, elements = floor(target, f"sqlite:///{work}/floor.db")
        with ConnectorHarness.create(
            DbtProjectConnector, endpoint=str(target), repository_url=f"sqlite:///{work}/metaferry.db"
        ) as harness:
            with stopwatch() as first:
                harness.refresh()
            with stopwatch() as again:
                counts = harness.refresh()
        rows = [
            ["first refresh", f"{floor_seconds:.2f} s", f"{first[0]:.2f} s", f"{first[0] / floor_seconds:.2f}×"],
            ["no-change refresh", "–", f"{again[0]:.2f} s", "–"],
        ]
        print(f"dbt-project, {arguments.models:,} models ({elements:,} elements); no-change writes: {counts}")
        print("targets: first ≤ 5 s, no-change ≤ 1 s")
        print(table(["refresh", "floor (parse + bare upserts)", "metaferry", "ratio"], rows))


if __name__ == "__main__":
    main()
