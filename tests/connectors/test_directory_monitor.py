"""The directory-monitor connector against a real directory tree and a real SQLite repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from metaferry_runtime.connectors.directory_monitor import DirectoryMonitorConnector
from metaferry_runtime.resource.spec import DeletionDetection
from metaferry_runtime.sdk import ConnectorConfigurationError, ConnectorError, available_connectors
from metaferry_runtime.testing import ConnectorHarness, HarnessFactory, conformance, elements_under
from tests.waiting import wait_for

Monitor = ConnectorHarness[DirectoryMonitorConnector]
MakeMonitor = Callable[..., Monitor]


@pytest.fixture
def make_monitor(connector_harness: HarnessFactory) -> MakeMonitor:
    """make_monitor(root, config=, deletion=, catalog_targets=): the monitor, configured and started by the kit."""

    def make(
        endpoint: Path | None,
        *,
        config: dict[str, Any] | None = None,
        deletion: DeletionDetection | None = None,
        catalog_targets: list[str] | None = None,
    ) -> Monitor:
        return connector_harness(
            DirectoryMonitorConnector,
            endpoint=endpoint,
            configuration_properties=config,
            deletion_detection=deletion,
            catalog_targets=catalog_targets,
        )

    return make


def _names(monitor: Monitor) -> dict[str, str]:
    """Active catalogued qualified names (relative to nothing: full names) -> type name."""
    elements = {**elements_under(monitor, "DataFile"), **elements_under(monitor, "FileFolder")}
    return {name: element.type_name for name, element in elements.items()}


def _qn(path: Path) -> str:
    return f"file://{path}"


def test_directory_monitor_is_installed_as_an_entry_point() -> None:
    assert available_connectors()["directory-monitor"].endswith("directory_monitor:DirectoryMonitorConnector")


def test_first_refresh_catalogs_folders_and_typed_files_nested_as_on_disk(
    make_monitor: MakeMonitor, tree: Path
) -> None:
    monitor = make_monitor(tree)
    counts = monitor.refresh()
    assert _names(monitor) == {
        _qn(tree): "FileFolder",
        _qn(tree / "sales"): "FileFolder",
        _qn(tree / "sales" / "2024"): "FileFolder",
        _qn(tree / "orders.csv"): "CSVFile",
        _qn(tree / "events.json"): "JSONFile",
        _qn(tree / "readme"): "DataFile",
        _qn(tree / "sales" / "q1.parquet"): "ParquetFile",
        _qn(tree / "sales" / "2024" / "jan.avro"): "AvroFile",
    }
    assert counts.created == 8
    context = monitor.context
    orders = context.get_file_by_path_name(tree / "orders.csv")
    assert orders is not None
    assert orders.properties["size"] == len("id,total\n1,10\n")
    assert orders.properties["fileExtension"] == "csv"
    assert orders.properties["pathName"] == str(tree / "orders.csv")
    assert orders.properties["modifiedTime"].startswith(time.strftime("%Y"))
    sales = context.get_folder_by_path_name(tree / "sales")
    assert sales is not None
    assert [e.qualified_name for e in context.get_folder_files(sales.guid)] == [_qn(tree / "sales" / "q1.parquet")]
    assert [e.qualified_name for e in context.get_nested_folders(sales.guid)] == [_qn(tree / "sales" / "2024")]
    assert [e.qualified_name for e in context.get_parent_folders(sales.guid)] == [_qn(tree)]


def test_a_refresh_without_changes_changes_nothing(make_monitor: MakeMonitor, tree: Path) -> None:
    monitor = make_monitor(tree)
    monitor.refresh()
    counts = monitor.refresh()
    assert (counts.created, counts.updated, counts.archived, counts.unchanged) == (0, 0, 0, 8)


def test_refresh_updates_changed_files_adds_new_ones_and_archives_what_disappeared(
    make_monitor: MakeMonitor, tree: Path
) -> None:
    monitor = make_monitor(tree, deletion=DeletionDetection(max_archive_percent=100))
    monitor.refresh()
    (tree / "orders.csv").write_text("id,total\n1,10\n2,20\n")
    (tree / "new").mkdir()
    (tree / "new" / "fresh.csv").write_text("x")
    (tree / "readme").unlink()
    shutil.rmtree(tree / "sales")
    counts = monitor.refresh()
    # updated: orders.csv and the root folder (its mtime); archived: readme, sales, 2024, q1, jan
    assert (counts.created, counts.updated, counts.archived) == (2, 2, 5)
    names = _names(monitor)
    assert _qn(tree / "new" / "fresh.csv") in names
    assert not any("sales" in name or "readme" in name for name in names)
    orders = monitor.context.get_file_by_path_name(tree / "orders.csv")
    assert orders is not None and orders.properties["size"] == len("id,total\n1,10\n2,20\n")
    (tree / "readme").write_text("back")
    assert monitor.refresh().restored == 1


def test_hidden_files_ignore_patterns_and_max_depth_limit_what_is_catalogued(
    make_monitor: MakeMonitor, tree: Path
) -> None:
    monitor = make_monitor(tree, config={"includeHidden": True, "maxDepth": 1, "ignorePatterns": ["*.json"]})
    monitor.refresh()
    names = _names(monitor)
    assert _qn(tree / ".hidden") in names
    assert _qn(tree / "events.json") not in names
    assert _qn(tree / "sales" / "q1.parquet") in names
    assert _qn(tree / "sales" / "2024") not in names


@pytest.mark.parametrize(
    ("config", "message"),
    [({"maxDepth": -1}, "maxDepth"), ({"includeHidden": "yes"}, "includeHidden"), ({"ignorePatterns": "*.x"}, "glob")],
)
def test_bad_configuration_is_refused_at_start(
    make_monitor: MakeMonitor, tree: Path, config: dict[str, object], message: str
) -> None:
    with pytest.raises(ConnectorConfigurationError, match=message):
        make_monitor(tree, config=config)


def test_a_missing_root_directory_is_a_configuration_error_at_start(make_monitor: MakeMonitor, tmp_path: Path) -> None:
    with pytest.raises(ConnectorConfigurationError, match="does not exist"):
        make_monitor(tmp_path / "absent")
    with pytest.raises(ConnectorConfigurationError, match="endpoint or catalogTargets"):
        make_monitor(None)


def test_every_catalog_target_is_a_root(make_monitor: MakeMonitor, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "x.csv").write_text("1")
    (tmp_path / "b" / "y.csv").write_text("2")
    monitor = make_monitor(None, catalog_targets=[f"file://{tmp_path / 'a'}", str(tmp_path / "b")])
    monitor.refresh()
    assert {_qn(tmp_path / "a" / "x.csv"), _qn(tmp_path / "b" / "y.csv")} <= set(_names(monitor))


def test_a_root_that_disappears_fails_the_refresh_and_archives_nothing(make_monitor: MakeMonitor, tree: Path) -> None:
    monitor = make_monitor(tree)
    monitor.refresh()
    shutil.rmtree(tree)
    with pytest.raises(ConnectorError, match="disappeared"):
        monitor.refresh()
    assert len(_names(monitor)) == 8


def test_the_fail_safe_refuses_to_archive_most_of_a_tree_at_once(make_monitor: MakeMonitor, tree: Path) -> None:
    monitor = make_monitor(tree, deletion=DeletionDetection(max_archive_percent=30))
    monitor.refresh()
    shutil.rmtree(tree / "sales")
    (tree / "readme").unlink()
    (tree / "events.json").unlink()
    counts = monitor.refresh()
    assert counts.archived == 0, "the refresh commits; only the archive is refused"
    assert len(_names(monitor)) == 8


def test_dry_run_reports_what_would_be_archived_and_archives_nothing(make_monitor: MakeMonitor, tree: Path) -> None:
    monitor = make_monitor(tree, deletion=DeletionDetection(dry_run=True))
    monitor.refresh()
    (tree / "readme").unlink()
    counts = monitor.refresh()
    assert (counts.archived, counts.would_archive) == (0, 1)
    assert _qn(tree / "readme") in _names(monitor)
    [record] = [r for r in monitor.audit_log.records() if r.message_id.endswith("0002")]
    assert str(tree / "readme") in record.text


class EngageLoop:
    """Calls engage() in a loop on its own thread, as the runtime does with usesBlockingCalls."""

    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                self.monitor.engage_once()
            except BaseException as error:
                self.errors.append(error)
                return

    def __enter__(self) -> EngageLoop:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        self.monitor.disconnect()
        self.thread.join(timeout=5)


def test_watch_mode_applies_creations_changes_and_deletions_as_they_happen(
    make_monitor: MakeMonitor, tree: Path
) -> None:
    monitor = make_monitor(tree)
    monitor.refresh()
    context = monitor.context
    with EngageLoop(monitor) as loop:
        wait_for(lambda: loop.monitor.connector.is_watching, what="the watcher to start")
        (tree / "late.csv").write_text("a")
        wait_for(lambda: context.get_file_by_path_name(tree / "late.csv") is not None, what="late.csv catalogued")
        (tree / "deep" / "er").mkdir(parents=True)
        (tree / "deep" / "er" / "nested.json").write_text("{}")
        wait_for(
            lambda: context.get_file_by_path_name(tree / "deep" / "er" / "nested.json") is not None,
            what="nested.json catalogued",
        )
        deeper = context.get_folder_by_path_name(tree / "deep" / "er")
        assert deeper is not None
        assert [e.qualified_name for e in context.get_parent_folders(deeper.guid)] == [_qn(tree / "deep")]
        (tree / "orders.csv").write_text("much longer than before")
        wait_for(
            lambda: (
                (element := context.get_file_by_path_name(tree / "orders.csv")) is not None
                and element.properties["size"] == len("much longer than before")
            ),
            what="orders.csv updated",
        )
        shutil.rmtree(tree / "sales")
        wait_for(lambda: context.get_folder_by_path_name(tree / "sales") is None, what="sales archived")
        wait_for(
            lambda: context.get_file_by_path_name(tree / "sales" / "2024" / "jan.avro") is None,
            what="jan.avro archived",
        )
        assert loop.errors == []
    assert not loop.thread.is_alive()


def test_engage_returns_within_about_a_second_when_nothing_happens(make_monitor: MakeMonitor, tree: Path) -> None:
    monitor = make_monitor(tree)
    started = time.monotonic()
    monitor.connector.engage()
    assert time.monotonic() - started < 3


def test_watch_mode_honours_dry_run_for_deletions(make_monitor: MakeMonitor, tree: Path) -> None:
    monitor = make_monitor(tree, deletion=DeletionDetection(dry_run=True))
    monitor.refresh()
    with EngageLoop(monitor) as loop:
        wait_for(lambda: loop.monitor.connector.is_watching, what="the watcher to start")
        os.remove(tree / "readme")
        wait_for(
            lambda: any(r.message_id.endswith("0002") for r in monitor.audit_log.records()),
            what="the dry-run report",
        )
    assert _qn(tree / "readme") in _names(monitor)


def test_the_monitor_conforms_on_a_real_tree_in_watch_mode(tree: Path) -> None:
    report = conformance(DirectoryMonitorConnector, endpoint=tree, uses_blocking_calls=True)
    assert report.first_refresh.created == 8


def test_disconnect_releases_the_watch_when_engage_is_not_running(make_monitor: MakeMonitor, tree: Path) -> None:
    monitor = make_monitor(tree)
    monitor.connector.engage()
    assert monitor.connector.is_watching
    monitor.disconnect()
    assert not monitor.connector.is_watching
    monitor.connector.engage()  # after disconnect: returns at once, watching nothing
    assert not monitor.connector.is_watching


def test_a_runtime_that_only_refreshes_does_not_import_watchfiles() -> None:
    code = (
        "import sys, metaferry_runtime.connectors.directory_monitor, metaferry_runtime.cli;"
        " print('watchfiles' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
