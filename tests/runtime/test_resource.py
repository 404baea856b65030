"""The IntegrationConnector models: durations and the validation a manifest gets before anything runs."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from metaferry_runtime.resource import ConnectorResource, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("45s", timedelta(seconds=45)),
        ("10m", timedelta(minutes=10)),
        ("1h", timedelta(hours=1)),
        ("1h30m", timedelta(minutes=90)),
        ("1.5s", timedelta(seconds=1.5)),
        ("250ms", timedelta(milliseconds=250)),
        ("0", timedelta(0)),
    ],
)
def test_go_style_durations_parse(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "10", "10 m", "1d", "PT10M", "-5s", "m10", "1h30", "ten minutes"])
def test_anything_else_is_an_error_that_names_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError, match="use a number with a unit ms, s, m or h"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(seconds=90), "1m30s"),
        (timedelta(hours=2), "2h"),
        (timedelta(0), "0"),
        (timedelta(seconds=1.5), "1.5s"),
    ],
)
def test_durations_format_back_to_the_shortest_text(delta: timedelta, text: str) -> None:
    assert format_duration(delta) == text
    assert parse_duration(text) == delta


def test_defaults_and_derived_values() -> None:
    resource = ConnectorResource.model_validate(
        {
            "apiVersion": "metaferry.io/v1alpha1",
            "kind": "IntegrationConnector",
            "metadata": {"name": "files", "namespace": "data"},
            "spec": {"integrationService": "files", "connector": "directory-monitor"},
        }
    )
    assert resource.metadata_source_qualified_name == "data/files"
    assert resource.spec.refresh_period is None
    assert resource.spec.permitted_synchronization.value == "FROM_THIRD_PARTY"
    wire = resource.to_wire()
    assert wire["spec"]["refreshTimeout"] == "30m"
    assert wire["spec"]["autoRestart"] == {"enabled": True, "initialBackoff": "5s", "maxBackoff": "10m"}


def _resource(**spec: object) -> ConnectorResource:
    return ConnectorResource.model_validate(
        {
            "apiVersion": "metaferry.io/v1alpha1",
            "kind": "IntegrationConnector",
            "metadata": {"name": "lineage", "namespace": "data"},
            "spec": {"integrationService": "lineage", "connector": "openlineage-receiver", **spec},
        }
    )


def test_a_declared_listener_port_reaches_the_connector_through_its_context(tmp_path: Path) -> None:
    from metaferry_runtime.lifecycle.assembly import context_for
    from metaferry_runtime.repository import open_repository

    repository = open_repository(f"sqlite:///{tmp_path}/repository.db")
    try:
        assert context_for(_resource(listenerPort=5000), repository).get_listener_port() == 5000
        assert context_for(_resource(), repository).get_listener_port() is None
    finally:
        repository.close()


def test_the_listener_port_may_not_be_the_runtime_apis() -> None:
    with pytest.raises(ValueError, match="listenerPort 8080 is the runtime API's"):
        _resource(listenerPort=8080)
