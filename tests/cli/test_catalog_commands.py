"""`metaferry search|show|curate` against a real `metaferry-catalog serve` process over a SQLite repository
that the directory-monitor connector filled (through the connector test kit)."""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from metaferry_cli.catalog_commands import describe_element
from metaferry_cli.main import main
from metaferry_runtime.connectors.directory_monitor import DirectoryMonitorConnector
from metaferry_runtime.testing import ConnectorHarness
from tests.catalog.test_catalog_serve import free_port
from tests.cli.catalogue_server import CURATOR, READER, serve_catalogue


@pytest.fixture
def lake(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A repository holding one folder of two files, catalogued by a real refresh."""
    url = f"sqlite:///{tmp_path / 'catalogue.db'}"
    root = tmp_path / "lake"
    (root / "sales").mkdir(parents=True)
    (root / "sales" / "2026.csv").write_text("a,b\n1,2\n")
    (root / "sales" / "orders.parquet").write_bytes(b"PAR1")
    with ConnectorHarness.create(DirectoryMonitorConnector, repository_url=url, endpoint=root) as monitor:
        monitor.refresh()
        yield url, root


@pytest.fixture
def catalog(lake: tuple[str, Path], tmp_path: Path) -> Iterator[str]:
    with serve_catalogue(lake[0], tmp_path) as base:
        yield base


@pytest.fixture
def cli(catalog: str, capsys: pytest.CaptureFixture[str]) -> Any:
    def run(*args: str, token: str = READER) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main([*args, "--catalog", catalog, "--catalog-token", token])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def test_search_finds_by_text_and_type_and_json_is_the_apis_items(cli: Any, catalog: str, lake: Any) -> None:
    root = lake[1]
    code, out, _ = cli("search", "orders", "--type", "DataFile")
    assert code == 0
    assert out.splitlines()[0].split() == ["GUID", "TYPE", "QUALIFIED", "NAME", "NAME"]
    assert f"file://{root}/sales/orders.parquet" in out and "2026.csv" not in out
    code, out, _ = cli("search", "sales", "-o", "json")
    items = json.loads(out)
    api = httpx.get(
        f"{catalog}/api/v1/elements", params={"text": "sales"}, headers={"Authorization": f"Bearer {READER}"}
    )
    assert items == api.json()["items"] and len(items) >= 3
    assert cli("search", "no-such-thing-anywhere")[1].strip() == "nothing matches 'no-such-thing-anywhere'"


def test_show_by_qualified_name_and_curate_puts_the_curated_value_beside_the_harvested_one(cli: Any, lake: Any) -> None:
    name = f"file://{lake[1]}/sales/2026.csv"
    code, out, _ = cli("show", name)
    assert code == 0 and out.startswith(f"CSVFile {name}\n")
    guid = out.splitlines()[1].split()[1]
    assert json.loads(cli("show", guid, "-o", "json")[1])["qualified_name"] == name

    code, _, err = cli("curate", name, "--set", "description=Sales of 2026, cleaned")
    assert code == 2 and "403: this token may not do that" in err and READER not in err

    code, out, err = cli("curate", guid, "--set", "description=Sales of 2026, cleaned", token=CURATOR)
    assert code == 0, err
    assert out.startswith('description: "Sales of 2026, cleaned"  (curated by alice at ')
    shown = cli("show", guid)[1]
    assert 'description: "Sales of 2026, cleaned"  (curated by alice at ' in shown and "harvested: " in shown

    code, out, _ = cli("curate", guid, "--unset", "description", token=CURATOR)
    assert code == 0 and "curated by" not in out


def test_bad_input_and_unreachable_catalogues_are_clear_errors(cli: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli("show", "00000000-0000-0000-0000-000000000000")
    assert code == 2 and "404: no such element" in err
    code, _, err = cli("curate", "x")
    assert code == 2 and "give --set NAME=VALUE" in err
    capsys.readouterr()
    port = free_port()
    code = main(["search", "x", "--catalog", f"http://127.0.0.1:{port}", "--catalog-token", READER])
    err = capsys.readouterr().err
    assert code == 2 and f"cannot reach the catalogue at http://127.0.0.1:{port}" in err and READER not in err
    assert main(["search", "x", "--catalog", ""]) == 2
    assert "give --catalog URL" in capsys.readouterr().err


ELEMENT = {
    "guid": "g-1",
    "type_name": "RelationalColumn",
    "qualified_name": "postgres://db/public.orders.amount",
    "status": "ACTIVE",
    "version": 4,
    "properties": {"name": "amount", "dataType": "numeric(10,2)", "description": "Order total, in euros"},
    "harvested_properties": {"name": "amount", "dataType": "numeric(10,2)", "description": "total"},
    "curated_properties": {"description": "Order total, in euros"},
    "curations": {"description": {"curator": "alice", "time": "2026-12-04T10:00:00Z"}},
    "classifications": [{"name": "PrimaryKey", "properties": {}}],
    "zones": ["finance"],
    "provenance": {"metadata_collection": "data/warehouse", "created_by_refresh": "r1", "last_refresh_id": "r4"},
    "relationships": {"items": [{"type_name": "NestedSchemaAttribute", "end1_guid": "g-0", "end2_guid": "g-1"}]},
}

SHOWN = """\
RelationalColumn postgres://db/public.orders.amount
  guid:        g-1  (version 4, ACTIVE)
  collection:  data/warehouse
  refreshes:   created by r1, last r4
  zones:       finance
  classified:  PrimaryKey
properties:
  dataType: "numeric(10,2)"
  description: "Order total, in euros"  (curated by alice at 2026-12-04T10:00:00Z; harvested: "total")
  name: "amount"
relationships:
  NestedSchemaAttribute: g-0 -> g-1"""


def test_show_text_is_the_snapshot() -> None:
    assert "\n".join(describe_element(ELEMENT)) == SHOWN


def test_a_local_repository_is_read_and_curated_through_a_private_catalogue(
    lake: tuple[str, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("METAFERRY_CATALOG_URL", raising=False)
    url, root = lake
    name = f"file://{root}/sales/orders.parquet"
    capsys.readouterr()
    assert main(["search", "orders", "--repository", url]) == 0
    assert name in capsys.readouterr().out
    assert main(["curate", name, "--set", "description=local note", "--repository", url]) == 0
    assert capsys.readouterr().out.startswith(f'description: "local note"  (curated by {getpass.getuser()} at ')
    assert main(["show", name, "--repository", url, "-o", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["properties"]["description"] == "local note"


def test_a_local_repository_that_cannot_be_served_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("METAFERRY_CATALOG_URL", raising=False)
    capsys.readouterr()
    missing = tmp_path / "typo.db"
    assert main(["search", "x", "--repository", f"sqlite:///{missing}"]) == 2
    assert f"no repository at {missing}" in capsys.readouterr().err
    assert not missing.exists(), "a mistyped path is not created as an empty catalogue"
    unreachable = f"postgresql://metaferry@127.0.0.1:{free_port()}/metaferry"
    assert main(["search", "x", "--repository", unreachable]) == 2
    assert "cannot serve the repository: cannot open the repository" in capsys.readouterr().err
    assert main(["search", "x"]) == 2
    assert "or --repository URL to read a local repository" in capsys.readouterr().err
