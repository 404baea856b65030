"""The conformance suite passes the sample connector and fails each variant that breaks one property, naming it."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from metaferry_runtime.sdk import IntegrationConnector
from metaferry_runtime.testing import ConformanceFailure, Property, conformance
from tests.testing import sample_connectors as samples


def test_the_sample_connector_passes_every_property(folder: Path) -> None:
    report = conformance(samples.FolderConnector, endpoint=folder)
    assert [result.property for result in report.results] == list(Property)
    assert all(result.passed for result in report.results), str(report)
    assert report.first_refresh.created == 3
    assert "the failed refresh left nothing" in report.result(Property.ONE_TRANSACTION).detail


def test_a_blocking_connector_is_also_engaged_on_the_unchanged_source(folder: Path) -> None:
    report = conformance(samples.FolderConnector, endpoint=folder, uses_blocking_calls=True)
    assert "then engage(), wrote nothing" in report.result(Property.UNCHANGED_SOURCE).detail


@pytest.mark.parametrize(
    ("connector_class", "broken", "detail"),
    [
        (samples.ForgetsSuperConnector, {Property.LIFECYCLE}, "set_connector_name did not reach IntegrationConnector"),
        (samples.WritesBeforeStartConnector, {Property.LIFECYCLE}, "1 writes were made while being configured"),
        (samples.TimestampingConnector, {Property.IDEMPOTENT, Property.UNCHANGED_SOURCE}, "ELEMENT_UPDATED file://"),
        (samples.InstanceStampingConnector, {Property.UNCHANGED_SOURCE}, "a restarted connector's first refresh wrote"),
        (samples.LeakyConnector, {Property.RESOURCES}, "thread 'sample-leaky-poller', fd "),
        (samples.LogsSecretsConnector, {Property.SECRETS}, "conformanceCanary in a log record of tests.testing"),
        (samples.PublishesSecretsConnector, {Property.SECRETS}, "conformanceCanary in out-topic event ELEMENT_CREATED"),
        (samples.SwallowsErrorsConnector, {Property.ONE_TRANSACTION}, "the error was swallowed"),
    ],
)
def test_a_connector_that_breaks_a_property_fails_it_by_name(
    folder: Path, connector_class: type[IntegrationConnector[object]], broken: set[Property], detail: str
) -> None:
    with pytest.raises(ConformanceFailure) as raised:
        conformance(connector_class, endpoint=folder)
    report = raised.value.report
    assert {result.property for result in report.failed} == broken, str(report)
    assert isinstance(raised.value, AssertionError)
    assert all(prop.value in str(raised.value) for prop in broken)
    assert detail in " ".join(result.detail for result in report.failed)
    if connector_class is samples.LeakyConnector:
        [leaks] = report.failed
        assert f"-> {os.devnull}" in leaks.detail and "-> socket:[" in leaks.detail


def test_the_secrets_given_are_the_ones_looked_for(folder: Path) -> None:
    with pytest.raises(ConformanceFailure, match="password in a log record") as raised:
        conformance(samples.LogsSecretsConnector, endpoint=folder, secrets={"password": "hunter2-but-longer"})
    assert "hunter2-but-longer" not in str(raised.value)


def test_a_connector_whose_first_refresh_writes_nothing_cannot_prove_anything(folder: Path) -> None:
    with pytest.raises(ConformanceFailure, match="the first refresh wrote nothing: give the suite a source"):
        conformance(samples.CataloguesNothingConnector, endpoint=folder)


def test_a_connector_that_cannot_start_fails_the_lifecycle_and_nothing_else_is_claimed(tmp_path: Path) -> None:
    with pytest.raises(ConformanceFailure) as raised:
        conformance(samples.FolderConnector, endpoint=tmp_path / "absent")
    report = raised.value.report
    assert [result.property for result in report.failed] == [Property.LIFECYCLE]
    assert "start() raised ConnectorConfigurationError" in report.failed[0].detail


def test_a_connector_the_runtime_cannot_load_by_its_manifest_fails_the_lifecycle(folder: Path) -> None:
    class DefinedInATest(samples.FolderConnector):
        """Not importable as module:Class, so `run` and `check` cannot load it."""

    with pytest.raises(ConformanceFailure) as raised:
        conformance(DefinedInATest, endpoint=folder)
    [failed] = raised.value.report.failed
    assert failed.property is Property.LIFECYCLE
    assert "under the engine (run --once)" in failed.detail and "check step 'connector' failed" in failed.detail


def test_conformance_runs_inside_an_event_loop_too(folder: Path) -> None:
    async def from_a_coroutine() -> None:
        conformance(samples.FolderConnector, endpoint=folder)

    import asyncio

    asyncio.run(from_a_coroutine())
    assert not [thread for thread in threading.enumerate() if thread.name == "metaferry-testing-engine"]


@pytest.mark.postgres
def test_conformance_over_a_postgresql_repository(folder: Path, postgres_database: str) -> None:
    report = conformance(samples.FolderConnector, endpoint=folder, repository_url=postgres_database)
    assert all(result.passed for result in report.results), str(report)
