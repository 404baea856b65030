"""`metaferry check`: the check Pod it builds from a connector's pod template, and `--file` on a real connector here.
The check in a cluster is tested against the real control plane in tests/operator/test_cli.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from metaferry_cli.check_command import TERMINATION_LOG, check_pod
from metaferry_cli.main import main
from metaferry_operator import naming, rendering
from metaferry_operator.config import OperatorConfig
from metaferry_runtime.resource.manifest import parse_manifest

MANIFEST = """\
apiVersion: metaferry.io/v1alpha1
kind: IntegrationConnector
metadata:
  name: lake
  namespace: data
spec:
  integrationService: files
  connector: directory-monitor
  connection:
    endpoint: {endpoint}
"""


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_check_file_runs_every_step_here_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lake = tmp_path / "lake"
    lake.mkdir()
    (lake / "orders.csv").write_text("id\n1\n")
    manifest = tmp_path / "lake.yaml"
    manifest.write_text(MANIFEST.format(endpoint=lake))
    database = tmp_path / "catalogue.db"

    code, out, err = run(capsys, "check", "--file", str(manifest), "--repository", f"sqlite:///{database}")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["ok", "manifest"] and lines[-1] == "check Succeeded"
    assert any(line.startswith("ok    dry-run refresh") and "nothing was written" in line for line in lines)
    assert out.count("dry-run refresh") == 1, "the runtime's own lines are not printed twice"

    code, out, _ = run(capsys, "check", "--file", str(manifest), "--repository", f"sqlite:///{database}", "-o", "json")
    document = json.loads(out)
    assert code == 0 and document["passed"] is True and document["steps"][-1]["name"] == "dry-run refresh"


def test_check_file_fails_at_the_step_that_fails_and_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = tmp_path / "lake.yaml"
    manifest.write_text(MANIFEST.format(endpoint=tmp_path / "no-such-directory"))
    code, out, _ = run(capsys, "check", "--file", str(manifest), "--repository", f"sqlite:///{tmp_path / 'c.db'}")
    assert code == 1
    failed = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert len(failed) == 1 and "no-such-directory" in failed[0]
    assert out.splitlines()[-1] == "check Failed"


def test_check_needs_a_name_or_a_file(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["check"])
    assert exited.value.code == 2 and "one of the arguments name --file is required" in capsys.readouterr().err


def _connector(tmp_path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The IntegrationConnector as the API serves it, and the Deployment the operator renders for it."""
    body = yaml.safe_load(MANIFEST.format(endpoint=tmp_path) + "    secretRef:\n      name: lake-credentials\n")
    body["metadata"]["uid"] = "uid-1"
    resource = parse_manifest(body, source="test")
    config = OperatorConfig(runtime_image="metaferry/runtime:test")
    return body, rendering.deployment(resource, config=config, token="t", secret_digest=None)


def test_the_check_pod_is_the_connectors_pod_running_the_check_once_and_no_replica_set_adopts_it(
    tmp_path: Path,
) -> None:
    body, deployment = _connector(tmp_path)
    template = deployment["spec"]["template"]
    pod = check_pod(body, template, deadline=300)

    selector = deployment["spec"]["selector"]["matchLabels"]
    labels = pod["metadata"]["labels"]
    assert not all(labels.get(key) == value for key, value in selector.items())
    assert labels[naming.LABEL_PART_OF] == "metaferry"
    assert pod["metadata"]["ownerReferences"] == [
        {"apiVersion": body["apiVersion"], "kind": "IntegrationConnector", "name": "lake", "uid": "uid-1"}
    ]
    assert pod["metadata"]["generateName"] == "lake-runtime-check-"
    (container,) = pod["spec"]["containers"]
    original = template["spec"]["containers"][0]
    assert container["command"] == [
        "metaferry-runtime",
        "check",
        f"{naming.CONNECTOR_DIR}/{naming.CONNECTOR_FILE}",
        "--result-file",
        TERMINATION_LOG,
    ]
    for same in ("image", "env", "volumeMounts", "securityContext", "resources"):
        assert container[same] == original[same]
    assert not {"livenessProbe", "readinessProbe", "ports"} & container.keys()
    assert container["terminationMessagePolicy"] == "FallbackToLogsOnError"
    assert pod["spec"]["volumes"] == template["spec"]["volumes"]
    assert (pod["spec"]["restartPolicy"], pod["spec"]["activeDeadlineSeconds"]) == ("Never", 300)
    assert template["spec"]["containers"][0].get("livenessProbe"), "the template itself is left as it was"
