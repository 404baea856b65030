"""search-indexer against a real repository and a real Tantivy index: the elements the files connector
(directory-monitor over a real tree) and the database connector (sqlite-schema over a real SQLite file)
catalogue are found by a column name and a file name; an archived file leaves the results; a restart
catches up from the stored cursor; a cursor older than the out topic rebuilds; and a process killed in the
middle of a catch-up (`search_faults.py`) resumes with no event missed and none indexed twice.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from metaferry_runtime.cli import EXIT_OK, main
from metaferry_runtime.connectors.directory_monitor import DirectoryMonitorConnector
from metaferry_runtime.connectors.search_indexer import SearchIndexerConnector, SearchIndexerMessages
from metaferry_runtime.connectors.sqlite_schema import SqliteSchemaConnector
from metaferry_runtime.repository import MetadataRepository, Page, open_repository
from metaferry_runtime.sdk import ApiError, ApiRequest, available_connectors
from metaferry_runtime.sdk.search import SearchIndex
from metaferry_runtime.testing import ConnectorHarness
from tests.connectors.openlineage_client import free_port
from tests.connectors.search_faults import CRASH_EXIT_CODE
from tests.waiting import wait_for

Indexer = ConnectorHarness[SearchIndexerConnector]

SCHEMA = """
create table customers (id integer primary key, email varchar(64) not null);
create table orders (order_no integer primary key, customer_id integer references customers (id), total numeric);
"""


@pytest.fixture
def repository_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'catalogue.db'}"


@pytest.fixture
def repository(repository_url: str) -> Iterator[MetadataRepository]:
    repository = open_repository(repository_url, poll_interval=0.2)
    yield repository
    repository.close()


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    return tmp_path / "index"


@pytest.fixture
def catalogued(tree: Path, tmp_path: Path, repository_url: str) -> Iterator[dict[str, Any]]:
    """The files connector and the database connector, each refreshed once into the shared repository."""
    database = tmp_path / "shop.db"
    with sqlite3.connect(database) as connection:
        connection.executescript(SCHEMA)
    files = ConnectorHarness.create(DirectoryMonitorConnector, repository_url=repository_url, endpoint=str(tree))
    tables = ConnectorHarness.create(SqliteSchemaConnector, repository_url=repository_url, endpoint=str(database))
    try:
        files.refresh()
        tables.refresh()
        yield {"files": files, "tables": tables, "tree": tree, "database": database}
    finally:
        files.close()
        tables.close()


def start_indexer(repository_url: str, index_dir: Path, **configuration: Any) -> Indexer:
    return ConnectorHarness.create(
        SearchIndexerConnector,
        repository_url=repository_url,
        endpoint=str(index_dir),
        configuration_properties=configuration or None,
    )


def wait_caught_up(indexer: Indexer, repository: MetadataRepository) -> None:
    head = repository.head_sequence()
    wait_for(lambda: indexer.connector.indexed_through >= head, what=f"the index to reach event {head}")


def active_guids(repository: MetadataRepository) -> set[str]:
    with repository.reader() as reader:
        found = reader.find_elements(page=Page(page_size=10_000))
    assert len(found) < 10_000
    return {element.guid for element in found}


def search(indexer: Indexer, **query: str) -> dict[str, Any]:
    response = indexer.connector.api_routes()[0].handler(ApiRequest("GET", "/search", query))
    assert response.status == 200
    body: dict[str, Any] = response.body
    return body


def qualified_names(body: dict[str, Any]) -> list[str]:
    return [hit["qualifiedName"] for hit in body["hits"]]


def test_search_indexer_is_installed_as_an_entry_point() -> None:
    assert available_connectors()["search-indexer"].endswith("search_indexer:SearchIndexerConnector")


def test_finds_a_column_and_a_file_that_other_connectors_catalogued(
    catalogued: dict[str, Any], repository_url: str, repository: MetadataRepository, index_dir: Path
) -> None:
    with start_indexer(repository_url, index_dir) as indexer:
        wait_caught_up(indexer, repository)

        column = search(indexer, q="customer_id")
        assert column["hits"], column
        best = column["hits"][0]
        assert best["qualifiedName"].endswith("orders#customer_id")
        assert best["typeName"] == "RelationalColumn"
        assert best["metadataCollection"] == catalogued["tables"].metadata_source
        assert "<b>customer</b>_<b>id</b>" in best["highlights"]["name"]
        assert best["score"] > 0

        orders_csv = f"file://{catalogued['tree']}/orders.csv"
        file = search(indexer, q="orders.csv")
        assert qualified_names(file)[0] == orders_csv
        assert file["hits"][0]["metadataCollection"] == catalogued["files"].metadata_source

        # The type filter takes supertypes: a CSVFile is a DataFile is an Asset; a column is neither.
        assert qualified_names(search(indexer, q="orders", type="DataFile")) == [orders_csv]
        assert orders_csv in qualified_names(search(indexer, q="orders", type="Asset"))
        assert all(
            hit["typeName"] == "RelationalColumn"
            for hit in search(indexer, q="orders", type="RelationalColumn")["hits"]
        )
        assert len(search(indexer, q="orders", limit="1")["hits"]) == 1


def test_an_archived_file_leaves_the_index(
    catalogued: dict[str, Any], repository_url: str, repository: MetadataRepository, index_dir: Path
) -> None:
    with start_indexer(repository_url, index_dir) as indexer:
        wait_caught_up(indexer, repository)
        assert qualified_names(search(indexer, q="events.json"))
        (catalogued["tree"] / "events.json").unlink()
        catalogued["files"].refresh()  # deletion detection archives it
        assert catalogued["files"].last_counts.archived == 1
        wait_caught_up(indexer, repository)
        assert not [name for name in qualified_names(search(indexer, q="events.json")) if name.endswith("events.json")]
        assert qualified_names(search(indexer, q="orders.csv"))  # the rest stays


def test_restart_catches_up_from_the_cursor_without_a_rebuild(
    catalogued: dict[str, Any], repository_url: str, repository: MetadataRepository, index_dir: Path
) -> None:
    with start_indexer(repository_url, index_dir) as indexer:
        wait_caught_up(indexer, repository)
        first_cursor = indexer.connector.indexed_through
    (catalogued["tree"] / "refunds.csv").write_text("id\n")
    catalogued["files"].refresh()
    with start_indexer(repository_url, index_dir) as indexer:
        assert indexer.connector.indexed_through == first_cursor  # resumed, not started over
        wait_caught_up(indexer, repository)
        assert indexer.connector.rebuilds == 0
        assert qualified_names(search(indexer, q="refunds"))[0].endswith("/refunds.csv")
        guids = indexer.connector.index.guids()
        assert len(guids) == len(set(guids))


def test_a_cursor_older_than_the_out_topic_rebuilds_from_the_repository(
    catalogued: dict[str, Any], repository_url: str, repository: MetadataRepository, index_dir: Path
) -> None:
    with start_indexer(repository_url, index_dir) as indexer:
        wait_caught_up(indexer, repository)
    # While the indexer is down: a file is added, one archived, and the out topic is pruned past the cursor.
    (catalogued["tree"] / "refunds.csv").write_text("id\n")
    (catalogued["tree"] / "orders.csv").unlink()
    catalogued["files"].refresh()
    assert repository.prune_events(repository.head_sequence()) > 0
    with start_indexer(repository_url, index_dir) as indexer:
        wait_caught_up(indexer, repository)
        assert indexer.connector.rebuilds == 1
        rebuilt = [r for r in indexer.audit_records() if r.message_id == SearchIndexerMessages.REBUILT.message_id]
        assert len(rebuilt) == 1
        assert "no longer in the out topic" in rebuilt[0].text
        assert qualified_names(search(indexer, q="refunds"))[0].endswith("/refunds.csv")
        assert not [n for n in qualified_names(search(indexer, q="orders.csv")) if n.endswith("/orders.csv")]
        active = active_guids(repository)
        guids = indexer.connector.index.guids()
        assert sorted(guids) == sorted(active)


def test_bad_queries_get_a_clear_error(catalogued: dict[str, Any], repository_url: str, index_dir: Path) -> None:
    with start_indexer(repository_url, index_dir) as indexer:
        handler = indexer.connector.api_routes()[0].handler
        for query, problem in (({}, "q is required"), ({"q": "x", "limit": "many"}, "limit must be")):
            with pytest.raises(ApiError, match=problem) as raised:
                handler(ApiRequest("GET", "/search", query))
            assert raised.value.status == 400
        # Query syntax the parser cannot use is reported, not an error.
        assert search(indexer, q='nosuchfield:orders "unbalanced')["problems"]


def test_the_cli_searches_the_index_without_a_runtime(
    catalogued: dict[str, Any],
    repository_url: str,
    repository: MetadataRepository,
    index_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with start_indexer(repository_url, index_dir) as indexer:
        wait_caught_up(indexer, repository)
        assert main(["search", "customer_id", "--index", str(index_dir), "--type", "RelationalColumn"]) == EXIT_OK
    printed = capsys.readouterr().out
    assert "orders#customer_id" in printed
    assert "RelationalColumn" in printed
    assert main(["search", "x", "--index", str(index_dir / "elsewhere")]) != EXIT_OK
    assert "holds no search index" in capsys.readouterr().err


def test_reapplying_events_changes_nothing(
    catalogued: dict[str, Any], repository_url: str, repository: MetadataRepository, index_dir: Path
) -> None:
    """Every change is an upsert by guid: replaying the whole out topic over a full index adds no document."""
    with start_indexer(repository_url, index_dir) as indexer:
        wait_caught_up(indexer, repository)
        before = sorted(indexer.connector.index.guids())
        events = list(repository.events_since(0, limit=100_000))
        from metaferry_runtime.connectors.search_indexer.feed import fold

        indexer.connector.index.apply(
            fold(events, after=0), cursor=events[-1].sequence, supertypes=indexer.connector.context.supertypes
        )
        assert sorted(indexer.connector.index.guids()) == before
        assert SearchIndex(index_dir, writable=False).count() == len(before)


# --- crashes and the runtime's HTTP API, in real processes ------------------------------------------------------
MANIFEST = """
apiVersion: metaferry.io/v1alpha1
kind: IntegrationConnector
metadata: {{name: {name}}}
spec:
  integrationService: search
  connector: {connector}
  permittedSynchronization: TO_THIRD_PARTY
  connection:
    endpoint: {index}
    configurationProperties: {{eventsPerCommit: {per_commit}, gatherSeconds: 0}}
"""
REPO_ROOT = Path(__file__).resolve().parents[2]
FILES, REVISED = 1200, 400


def catalogue_files(repository: MetadataRepository, directory: str, count: int) -> None:
    """`count` DataFiles under `directory`, then a description on the first REVISED: creates and updates."""
    from metaferry_runtime.sdk import ElementUpsert
    from metaferry_runtime.sdk.contexts import create_context
    from metaferry_runtime.sdk.contexts.files import FilesIntegratorContext

    context = create_context(
        "files", repository=repository, connector_name="bulk", metadata_source_qualified_name="bulk-files"
    )
    assert isinstance(context, FilesIntegratorContext)
    try:
        for start in range(0, count, 300):
            upserts = [
                ElementUpsert(f"file://{directory}/part-{n:05d}.csv", {"name": f"part-{n:05d}.csv"}, "CSVFile")
                for n in range(start, min(count, start + 300))
            ]
            with context.change_batch():
                context.upsert_data_files(upserts)
        with context.change_batch():
            context.upsert_data_files(
                [
                    ElementUpsert(
                        f"file://{directory}/part-{n:05d}.csv",
                        {"name": f"part-{n:05d}.csv", "description": "revised by the steward"},
                        "CSVFile",
                    )
                    for n in range(REVISED)
                ]
            )
    finally:
        context.disconnect()


def run_runtime(
    manifest: Path, url: str, *, env: dict[str, str], listen: str = "127.0.0.1:0"
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "metaferry_runtime.cli", "run", str(manifest), "--repository", url, "--listen", listen],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **env},
    )


@pytest.mark.parametrize("mode", ["between", "inside"])
def test_a_process_killed_mid_catch_up_resumes_with_no_event_missed_or_indexed_twice(
    mode: str, tmp_path: Path, repository_url: str, repository: MetadataRepository, index_dir: Path
) -> None:
    catalogue_files(repository, str(tmp_path / "landing"), FILES)
    head = repository.head_sequence()
    manifest = tmp_path / "crashing.yaml"
    connector = "tests.connectors.search_faults:CrashingIndexer"
    manifest.write_text(MANIFEST.format(name="crashing", connector=connector, index=index_dir, per_commit=100))
    process = run_runtime(manifest, repository_url, env={"SEARCH_CRASH_AFTER_COMMITS": "4", "SEARCH_CRASH_MODE": mode})
    try:
        _, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == CRASH_EXIT_CODE, err.decode()[-2000:]

    crashed = SearchIndex(index_dir, writable=False)
    cursor = crashed.cursor()
    assert cursor is not None
    assert 0 < cursor < head  # it died part of the way through
    covered = {event.element.guid for event in repository.events_since(0, limit=cursor) if event.element}
    assert len(covered) == crashed.count()  # what the committed cursor covers, no more, no less
    assert len(crashed.guids()) == len(set(crashed.guids()))

    with start_indexer(repository_url, index_dir) as indexer:
        assert indexer.connector.indexed_through == cursor  # resumed from the cursor
        wait_caught_up(indexer, repository)
        assert indexer.connector.rebuilds == 0
        guids = indexer.connector.index.guids()
        active = active_guids(repository)
        assert len(guids) == len(set(guids)) == FILES  # none twice
        assert set(guids) == active  # none missed
        revised = indexer.connector.index.search('"revised by the steward"', limit=FILES).hits
        assert len(revised) == REVISED  # the updates after the creations were not missed either


def test_the_runtime_serves_search_on_its_http_api(
    catalogued: dict[str, Any], tmp_path: Path, repository_url: str, repository: MetadataRepository, index_dir: Path
) -> None:
    manifest = tmp_path / "search.yaml"
    manifest.write_text(MANIFEST.format(name="search", connector="search-indexer", index=index_dir, per_commit=1000))
    port = free_port()
    process = run_runtime(manifest, repository_url, env={}, listen=f"127.0.0.1:{port}")
    base = f"http://127.0.0.1:{port}"
    head = repository.head_sequence()
    try:

        def caught_up() -> bool:
            try:
                response = httpx.get(f"{base}/search", params={"q": "orders"}, timeout=5)
            except httpx.TransportError:
                return False
            return response.status_code == 200 and response.json()["indexedThrough"] >= head

        wait_for(caught_up, timeout=60, what="the runtime's /search to cover the repository")
        found = httpx.get(f"{base}/search", params={"q": "customer_id", "type": "RelationalColumn"}).json()
        assert found["hits"][0]["qualifiedName"].endswith("orders#customer_id")
        assert "<b>customer</b>" in found["hits"][0]["highlights"]["name"]
        scores = [hit["score"] for hit in httpx.get(f"{base}/search", params={"q": "orders"}).json()["hits"]]
        assert scores == sorted(scores, reverse=True) and len(scores) > 1
        refused = httpx.get(f"{base}/search")
        assert refused.status_code == 400
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert "q is required" in refused.json()["detail"]
        assert httpx.get(f"{base}/nowhere").status_code == 404
        assert httpx.post(f"{base}/search").status_code == 405
        assert httpx.post(f"{base}/healthz").status_code == 405  # the runtime's own paths keep their methods
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()


def test_out_topic_bounds_tell_when_events_after_a_position_are_gone() -> None:
    from metaferry_runtime.sdk import OutTopicBounds

    assert OutTopicBounds(first=None, head=0).holds_after(0)  # a new repository
    assert OutTopicBounds(first=1, head=50).holds_after(0)  # nothing pruned
    assert OutTopicBounds(first=41, head=50).holds_after(40)  # pruned up to the position: nothing missed
    assert not OutTopicBounds(first=42, head=50).holds_after(40)  # event 41 may have been pruned
    assert not OutTopicBounds(first=1, head=50).holds_after(60)  # past the head: another repository
