"""Catalog targets as Egeria's: a name or {name, configurationProperties}, handed to the connector as typed
objects, with each target's properties validated against the connector's model before initialize."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from metaferry_runtime.lifecycle import ConnectorRuntime
from metaferry_runtime.report import ConnectorStatus
from metaferry_runtime.repository import MetadataRepository
from metaferry_runtime.resource import IntegrationConnectorSpec
from metaferry_runtime.sdk import CatalogTarget
from tests.runtime import sample_connectors as samples
from tests.runtime.conftest import make_resource

BASE = {"integrationService": "files", "connector": "directory-monitor"}


def _spec(*targets: object) -> IntegrationConnectorSpec:
    return IntegrationConnectorSpec.model_validate({**BASE, "catalogTargets": list(targets)})


def test_both_forms_load_and_an_entry_without_properties_is_written_back_short() -> None:
    spec = _spec("/a", {"name": "/b", "configurationProperties": {"depth": 2}}, {"name": "/c"})
    assert [(target.name, target.configuration_properties) for target in spec.catalog_targets] == [
        ("/a", {}),
        ("/b", {"depth": 2}),
        ("/c", {}),
    ]
    # The short form on the wire keeps the config hash of every manifest written before objects existed.
    assert spec.to_wire()["catalogTargets"] == ["/a", {"name": "/b", "configurationProperties": {"depth": 2}}, "/c"]


@pytest.mark.parametrize(
    ("targets", "expected"),
    [
        (["/a", {"name": "/a"}], "catalogTargets must not name the same target twice"),
        ([{"name": "/a", "properties": {}}], "catalogTargets.0.properties"),
        ([{"configurationProperties": {}}], "catalogTargets.0.name"),
        ([""], "catalogTargets.0.name"),
        ([{"name": "/a", "configurationProperties": ["x"]}], "catalogTargets.0.configurationProperties"),
    ],
)
def test_a_wrong_entry_is_refused_naming_it(targets: list[object], expected: str) -> None:
    with pytest.raises(ValidationError) as raised:
        _spec(*targets)
    assert expected in str(raised.value)


async def test_the_connector_reads_each_targets_properties_typed(repository: MetadataRepository) -> None:
    samples.TargetConfigurationConnector.seen.clear()
    resource = make_resource(
        "TargetConfigurationConnector",
        catalogTargets=["/plain", {"name": "/deep", "configurationProperties": {"depth": 3, "include": ["x.*"]}}],
    )
    runtime = ConnectorRuntime(resource=resource, repository=repository)
    await runtime.start()
    try:
        assert runtime.report().failure_reason is None
        [targets] = samples.TargetConfigurationConnector.seen
        assert [target.name for target in targets] == ["/plain", "/deep"]
        assert all(isinstance(target, CatalogTarget) for target in targets)
        assert [(t.configuration.depth, t.configuration.include) for t in targets] == [(1, ()), (3, ("x.*",))]
        assert dict(targets[1].configuration_properties) == {"depth": 3, "include": ["x.*"]}
    finally:
        await runtime.shutdown()


async def test_a_wrong_target_property_fails_the_connector_before_initialize_naming_the_target(
    repository: MetadataRepository,
) -> None:
    samples.TargetConfigurationConnector.seen.clear()
    resource = make_resource(
        "TargetConfigurationConnector",
        catalogTargets=[
            {"name": "/ok", "configurationProperties": {"depth": 2}},
            {"name": "/bad", "configurationProperties": {"depth": 0, "includes": []}},
        ],
    )
    runtime = ConnectorRuntime(resource=resource, repository=repository)
    await runtime.start()
    try:
        report = runtime.report()
        assert report.status is ConnectorStatus.CONFIG_FAILED
        assert report.failure_reason == "InvalidConfiguration"
        error = report.last_error or ""
        path = "spec.catalogTargets[1].configurationProperties"
        assert f"{path}.depth: Input should be greater than or equal to 1" in error
        assert f"{path}.includes: unknown property" in error
        assert "'/bad'" in error and "'/ok'" not in error
        assert samples.TargetConfigurationConnector.seen == []  # start never ran
    finally:
        await runtime.shutdown()


async def test_a_connector_without_a_target_model_gets_the_raw_properties(repository: MetadataRepository) -> None:
    samples.RecordingConnector.instances.clear()
    resource = make_resource(
        "RecordingConnector", catalogTargets=[{"name": "/t", "configurationProperties": {"anything": [1, 2]}}]
    )
    runtime = ConnectorRuntime(resource=resource, repository=repository)
    await runtime.start()
    try:
        [target] = samples.RecordingConnector.instances[-1].context.get_catalog_targets()
        assert (target.name, dict(target.configuration_properties), target.configuration) == (
            "/t",
            {"anything": [1, 2]},
            None,
        )
    finally:
        await runtime.shutdown()
