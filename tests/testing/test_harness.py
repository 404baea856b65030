"""The test kit's harness and assertion helpers, on the sample connector over real repositories."""

from __future__ import annotations

import asyncio
import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from metaferry_runtime.audit import RuntimeMessages
from metaferry_runtime.lifecycle.engine import ConnectorRuntime
from metaferry_runtime.repository import ElementNotFound, open_repository
from metaferry_runtime.resource import ManifestError, PermittedSynchronization
from metaferry_runtime.sdk import ContextDisconnected
from metaferry_runtime.sdk.contexts import FilesIntegratorContext
from metaferry_runtime.testing import (
    ConnectorHarness,
    HarnessFactory,
    assert_refresh_writes_nothing,
    build_manifest,
    element_named,
    elements_under,
    last_refresh_changes,
    relationships_between,
)
from tests.testing.sample_connectors import FolderConnector, RecordingConnector, TimestampingConnector


def qn(path: Path) -> str:
    return f"file://{path}"


def test_the_kit_is_a_pytest_plugin_registered_by_entry_point() -> None:
    [plugin] = [ep for ep in importlib.metadata.entry_points(group="pytest11") if ep.name == "metaferry"]
    assert plugin.value == "metaferry_runtime.testing.plugin"


def test_the_connector_is_configured_with_the_engines_connection_and_context(
    connector_harness: HarnessFactory, folder: Path
) -> None:
    harness = connector_harness(
        FolderConnector,
        endpoint=folder,
        configuration_properties={"depth": 1},
        secrets={"token": "s3cret-token"},
        catalog_targets=["extra"],
    )
    connector = harness.connector
    assert isinstance(connector.context, FilesIntegratorContext)
    assert connector.context.get_metadata_source_qualified_name() == "default/under-test"
    assert [target.name for target in connector.context.get_catalog_targets()] == ["extra"]
    assert connector.connector_name == "under-test"
    assert connector.connection.endpoint == str(folder)
    assert connector.connection.configuration_properties == {"depth": 1}
    assert connector.connection.secured_properties == {"token": SecretStr("s3cret-token")}
    assert (
        connector.audit_log.component == "metaferry-runtime/connector/tests.testing.sample_connectors:FolderConnector"
    )


def test_a_manifest_may_be_a_file_a_mapping_or_spec_fields(tmp_path: Path, folder: Path) -> None:
    document = {
        "apiVersion": "metaferry.io/v1alpha1",
        "kind": "IntegrationConnector",
        "metadata": {"name": "notes", "namespace": "team"},
        "spec": {"integrationService": "files", "connector": "directory-monitor", "connection": {"endpoint": "/x"}},
    }
    path = tmp_path / "notes.yaml"
    path.write_text(
        "apiVersion: metaferry.io/v1alpha1\nkind: IntegrationConnector\nmetadata: {name: notes, namespace: team}\n"
        "spec: {integrationService: files, connector: directory-monitor, connection: {endpoint: /x}}\n"
    )
    assert build_manifest(FolderConnector, path) == build_manifest(FolderConnector, document)
    overlaid = build_manifest(
        FolderConnector, document, endpoint=folder, permitted_synchronization=PermittedSynchronization.BOTH_DIRECTIONS
    )
    assert (overlaid.spec.connection.endpoint, overlaid.spec.permitted_synchronization.value) == (
        str(folder),
        "BOTH_DIRECTIONS",
    )
    assert overlaid.metadata_source_qualified_name == "team/notes"
    bare = build_manifest(FolderConnector)
    assert (bare.metadata.name, bare.spec.integration_service.value, bare.spec.connector) == (
        "under-test",
        "files",
        "tests.testing.sample_connectors:FolderConnector",
    )


def test_a_manifest_the_runtime_would_refuse_is_refused_naming_the_field() -> None:
    with pytest.raises(ManifestError, match=r"spec.refreshInterval: .*between 10s and 168h"):
        build_manifest(FolderConnector, refresh_interval="1s")
    with pytest.raises(TypeError, match=r"'catalogue_targets' is not a field of IntegrationConnector\.spec"):
        build_manifest(FolderConnector, catalogue_targets=["x"])


def test_refresh_returns_its_counts_and_keeps_its_out_topic_events(
    connector_harness: HarnessFactory, folder: Path
) -> None:
    harness = connector_harness(FolderConnector, endpoint=folder)
    counts = harness.refresh()
    assert (counts.created, counts.updated, counts.archived) == (3, 0, 0)
    assert last_refresh_changes(harness).created == {qn(folder), qn(folder / "orders.csv"), qn(folder / "events.json")}
    assert {event.refresh_id for event in harness.last_events} == {"refresh-1"}
    (folder / "orders.csv").write_text("id,total\n1,10\n2,20\n")
    (folder / "events.json").unlink()
    harness.refresh()
    changes = last_refresh_changes(harness)
    assert (changes.created, changes.updated, changes.archived) == (
        set(),
        {qn(folder / "orders.csv")},
        {qn(folder / "events.json")},
    )
    assert harness.changed("ELEMENT_UPDATED") == {qn(folder / "orders.csv")}


def test_the_assertion_helpers_read_elements_and_relationships(connector_harness: HarnessFactory, folder: Path) -> None:
    harness = connector_harness(FolderConnector, endpoint=folder)
    harness.refresh()
    assert set(elements_under(harness, "DataFile", qn(folder) + "/")) == {
        qn(folder / "orders.csv"),
        qn(folder / "events.json"),
    }
    assert set(elements_under(harness, "CSVFile")) == {qn(folder / "orders.csv")}
    assert elements_under(harness, "DataFile", "file:///elsewhere/") == {}
    assert element_named(harness, qn(folder / "orders.csv")).properties["size"] == len("id,total\n1,10\n")
    [nested] = relationships_between(harness, qn(folder), qn(folder / "orders.csv"))
    assert nested.type_name == "NestedFile"
    assert relationships_between(harness, qn(folder / "orders.csv"), qn(folder)) == []
    assert relationships_between(harness, qn(folder), qn(folder / "orders.csv"), type_name="FolderHierarchy") == []
    with pytest.raises(AssertionError, match="no active element is named 'file:///nowhere'"):
        element_named(harness, "file:///nowhere")


def test_a_second_refresh_that_writes_is_caught_saying_what_it_wrote(
    connector_harness: HarnessFactory, folder: Path
) -> None:
    conforming = connector_harness(FolderConnector, endpoint=folder)
    conforming.refresh()
    assert_refresh_writes_nothing(conforming)
    stamping = connector_harness(TimestampingConnector, endpoint=folder)
    stamping.refresh()
    with pytest.raises(AssertionError, match=r"wrote \{'updated': 2\} and published 2 events.*ELEMENT_UPDATED file://"):
        assert_refresh_writes_nothing(stamping)


def test_a_failed_refresh_raises_and_leaves_the_repository_as_it_was(
    connector_harness: HarnessFactory, folder: Path
) -> None:
    harness = connector_harness(FolderConnector, endpoint=folder)
    harness.refresh()
    harness.connector.folder = str(folder / "gone")  # catalogued as a folder, then listing it fails
    with pytest.raises(FileNotFoundError):
        harness.refresh()
    assert harness.last_counts is None and harness.last_events == []
    assert elements_under(harness, "FileFolder") == {qn(folder): element_named(harness, qn(folder))}


def test_engage_once_returns_the_events_engage_published(connector_harness: HarnessFactory, folder: Path) -> None:
    harness = connector_harness(FolderConnector, endpoint=folder, uses_blocking_calls=True)
    harness.refresh()
    (folder / "late.csv").write_text("late")
    events = harness.engage_once()
    assert {event.element.qualified_name for event in events if event.element is not None} == {qn(folder / "late.csv")}
    assert harness.engage_once() == []


def test_disconnect_makes_the_context_refuse_use_and_close_removes_the_repository(folder: Path) -> None:
    with ConnectorHarness.create(FolderConnector, endpoint=folder) as harness:
        harness.refresh()
        path = Path(harness.repository.url.removeprefix("sqlite:///"))
        assert path.is_file()
        harness.disconnect()
        with pytest.raises(ContextDisconnected):
            harness.context.get_catalog_targets()
        harness.disconnect()  # once only: the connector's disconnect() is not called again
    assert not path.parent.exists()


def test_audit_records_hold_the_connectors_records_with_secrets_masked(
    connector_harness: HarnessFactory, folder: Path
) -> None:
    harness = connector_harness(FolderConnector, endpoint=folder, secrets={"token": "s3cret-token"})
    harness.connector.audit_log.log_message("test", RuntimeMessages.DISCONNECTED, connector_name="s3cret-token")
    [record] = harness.audit_records()
    assert record.component.endswith("/connector/tests.testing.sample_connectors:FolderConnector")
    assert "s3cret-token" not in record.text and "****" in record.text


def test_a_connector_that_fails_to_start_is_refused_and_cleaned_up(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="does not exist"):
        ConnectorHarness.create(FolderConnector, endpoint=tmp_path / "absent")


@pytest.mark.postgres
def test_the_repository_is_postgresql_when_a_url_is_given(
    connector_harness: HarnessFactory, folder: Path, postgres_database: str
) -> None:
    harness = connector_harness(FolderConnector, endpoint=folder, repository_url=postgres_database)
    assert harness.repository.url.startswith("postgresql")
    assert harness.refresh().created == 3
    assert_refresh_writes_nothing(harness)
    with pytest.raises(ElementNotFound), harness.repository.transaction(actor="reader") as transaction:
        transaction.get_element("no-such-guid")


def test_the_harness_makes_the_calls_the_engine_makes_in_the_same_order(folder: Path, tmp_path: Path) -> None:
    RecordingConnector.calls = []
    with ConnectorHarness.create(RecordingConnector, endpoint=folder) as harness:
        harness.refresh()
    under_the_harness, RecordingConnector.calls = RecordingConnector.calls, []
    repository = open_repository(f"sqlite:///{tmp_path / 'engine.db'}")
    try:
        runtime = ConnectorRuntime(resource=build_manifest(RecordingConnector, endpoint=folder), repository=repository)
        asyncio.run(runtime.run_once())
    finally:
        repository.close()
    assert (
        under_the_harness
        == RecordingConnector.calls
        == [
            "initialize",
            "set_audit_log",
            "set_connector_name",
            "set_context",
            "start",
            "refresh",
            "disconnect",
        ]
    )


def test_the_plugin_costs_a_test_session_nothing_until_a_fixture_is_used() -> None:
    code = (
        "import sys, metaferry_runtime.testing.plugin;"
        " print(sorted(m for m in ('sqlalchemy', 'metaferry_runtime.lifecycle.engine') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_the_public_names_are_the_kits_functions_whichever_module_was_imported_first() -> None:
    import metaferry_runtime.testing.suite  # noqa: F401  # a submodule import must not shadow a public name
    from metaferry_runtime import testing

    assert callable(testing.conformance) and testing.conformance.__module__ == "metaferry_runtime.testing.suite"
    assert sorted(testing.__all__) == sorted(name for name in testing.__all__ if hasattr(testing, name))
