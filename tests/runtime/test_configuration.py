"""Typed configuration properties: validated against the connector's model before initialize, in run,
check and the operator's status alike, with the key path and what was expected."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from metaferry_runtime.cli import EXIT_CONNECTOR_FAILED, EXIT_OK, main
from metaferry_runtime.lifecycle import ConnectorRuntime
from metaferry_runtime.report import ConnectorStatus
from metaferry_runtime.repository import MetadataRepository
from metaferry_runtime.sdk import InvalidConfiguration, validate_configuration
from tests.runtime import sample_connectors as samples
from tests.runtime.conftest import make_resource

PREFIX = "spec.connection.configurationProperties"


def test_valid_properties_arrive_typed_with_camel_case_keys() -> None:
    settings = validate_configuration(samples.TypedSettings, {"batchSize": 5, "labels": ["a", "b"]})
    assert (settings.batch_size, settings.labels, settings.verbose) == (5, ("a", "b"), False)


@pytest.mark.parametrize(
    ("properties", "expected"),
    [
        ({"batchSize": 0}, f"{PREFIX}.batchSize: Input should be greater than or equal to 1 (expected: elements"),
        ({"labels": ["a", 3]}, f"{PREFIX}.labels[1]: Input should be a valid string (expected: a list of label"),
        ({"verbose": "yes"}, f"{PREFIX}.verbose: Input should be a valid boolean"),
        (
            {"batchsize": 5},
            f"{PREFIX}.batchsize: unknown property (check its spelling; this connector takes batchSize,",
        ),
    ],
)
def test_each_problem_names_its_key_path_and_what_was_expected(properties: dict[str, object], expected: str) -> None:
    with pytest.raises(InvalidConfiguration) as raised:
        validate_configuration(samples.TypedSettings, properties)
    assert any(problem.startswith(expected) for problem in raised.value.problems), raised.value.problems


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(InvalidConfiguration) as raised:
        validate_configuration(samples.TypedSettings, {"batchSize": 0, "verbose": "no", "extra": 1})
    assert len(raised.value.problems) == 3


async def test_the_runtime_validates_before_initialize_and_is_config_failed_with_its_own_reason(
    repository: MetadataRepository,
) -> None:
    samples.TypedConfigurationConnector.seen.clear()
    resource = make_resource("TypedConfigurationConnector", connection={"configurationProperties": {"batchSize": -1}})
    runtime = ConnectorRuntime(resource=resource, repository=repository)
    await runtime.start()
    report = runtime.report()
    assert report.status is ConnectorStatus.CONFIG_FAILED
    assert report.failure_reason == "InvalidConfiguration"
    assert f"{PREFIX}.batchSize: Input should be greater than or equal to 1" in (report.last_error or "")
    assert samples.TypedConfigurationConnector.seen == []  # initialize never ran
    await runtime.shutdown()


async def test_initialize_sees_the_validated_model(repository: MetadataRepository) -> None:
    samples.TypedConfigurationConnector.seen.clear()
    resource = make_resource(
        "TypedConfigurationConnector", connection={"configurationProperties": {"batchSize": 3, "verbose": True}}
    )
    runtime = ConnectorRuntime(resource=resource, repository=repository)
    await runtime.start()
    assert runtime.report().failure_reason is None
    assert [(s.batch_size, s.verbose) for s in samples.TypedConfigurationConnector.seen] == [(3, True)]
    await runtime.shutdown()


MANIFEST = """\
apiVersion: metaferry.io/v1alpha1
kind: IntegrationConnector
metadata:
  name: typed
spec:
  integrationService: files
  connector: tests.runtime.sample_connectors:TypedConfigurationConnector
  connection:
    configurationProperties:
      batchSize: {batch_size}
"""


def test_check_validates_the_properties_right_after_resolving_the_connector(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = tmp_path / "typed.yaml"
    manifest.write_text(MANIFEST.format(batch_size=0))
    repository = f"sqlite:///{tmp_path / 'r.db'}"
    assert main(["check", str(manifest), "--repository", repository]) == EXIT_CONNECTOR_FAILED
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in lines] == ["manifest", "connector", "configuration"]
    assert lines[-1].startswith("FAIL") and f"{PREFIX}.batchSize" in lines[-1]
    manifest.write_text(MANIFEST.format(batch_size=2))
    assert main(["check", str(manifest), "--repository", repository]) == EXIT_OK
    assert "1 configuration properties match TypedSettings" in capsys.readouterr().out


def test_run_once_with_invalid_properties_exits_1_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = tmp_path / "typed.yaml"
    manifest.write_text(MANIFEST.format(batch_size="many"))
    assert (
        main(["run", str(manifest), "--once", "--repository", f"sqlite:///{tmp_path / 'r.db'}"])
        == EXIT_CONNECTOR_FAILED
    )
    out = capsys.readouterr().out
    assert "CONFIG_FAILED" in out and f"{PREFIX}.batchSize: Input should be a valid integer" in out


def test_connectors_prints_each_connectors_configuration_schema_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["connectors", "--output", "json"]) == EXIT_OK
    described = {entry["name"]: entry for entry in json.loads(capsys.readouterr().out)}
    postgres = described["postgres-schema"]
    assert postgres["service"] == "database"
    schema = postgres["configuration"]
    assert schema["additionalProperties"] is False
    assert {"includeTables", "excludeSchemas", "statementTimeoutSeconds"} <= set(schema["properties"])
    assert schema["properties"]["statementTimeoutSeconds"]["minimum"] == 1
    assert described["directory-monitor"]["configuration"]["properties"]["maxDepth"]["description"]
