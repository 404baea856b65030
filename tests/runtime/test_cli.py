"""`metaferry-runtime` as a user runs it: real files, a real SQLite repository, exit codes and messages."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from metaferry_runtime.check import DRY_RUN_STEP, TERMINATION_MESSAGE_LIMIT, CheckStep, result_document
from metaferry_runtime.cli import EXIT_BAD_INPUT, EXIT_CONNECTOR_FAILED, EXIT_OK, main

VALID = """\
apiVersion: metaferry.io/v1alpha1
kind: IntegrationConnector
metadata:
  name: writer
spec:
  integrationService: files
  connector: tests.runtime.sample_connectors:WritingConnector
  connection:
    configurationProperties:
      elements: 3
"""


def write(tmp_path: Path, text: str, name: str = "connector.yaml") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_run_once_refreshes_and_prints_a_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = write(tmp_path, VALID)
    database = f"sqlite:///{tmp_path / 'r.db'}"
    assert main(["run", manifest, "--once", "--repository", database]) == EXIT_OK
    out = capsys.readouterr().out
    assert "result           succeeded" in out
    assert "created          3" in out
    assert main(["run", manifest, "--once", "--repository", database]) == EXIT_OK
    out = capsys.readouterr().out
    assert "created          0" in out and "unchanged        3" in out
    assert main(["elements", "--repository", database, "--search", "writer"]) == EXIT_OK
    listing = capsys.readouterr().out
    assert "test://writer/0" in listing and "(3 elements)" in listing


def test_run_once_with_a_refresh_interval_reports_no_next_refresh(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = write(tmp_path, VALID.replace("  connection:", "  refreshInterval: 1m\n  connection:"))
    assert main(["run", manifest, "--once", "--repository", f"sqlite:///{tmp_path / 'r.db'}"]) == EXIT_OK
    assert "result           succeeded" in capsys.readouterr().out


def test_run_once_exits_1_when_the_refresh_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = write(tmp_path, VALID.replace("elements: 3", "elements: 3\n      failAfterWriting: true"))
    assert main(["run", manifest, "--once", "--repository", f"sqlite:///{tmp_path / 'r.db'}"]) == EXIT_CONNECTOR_FAILED
    assert "failing on purpose" in capsys.readouterr().out


def test_check_reports_each_step_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = write(tmp_path, VALID)
    database = f"sqlite:///{tmp_path / 'r.db'}"
    assert main(["check", manifest, "--repository", database]) == EXIT_OK
    out = capsys.readouterr().out
    assert "ok   dry-run refresh  would create 3" in out
    main(["elements", "--repository", database])
    assert "(0 elements)" in capsys.readouterr().out


def test_check_writes_its_steps_as_json_within_a_termination_message(tmp_path: Path) -> None:
    result = tmp_path / "termination-log"
    database = f"sqlite:///{tmp_path / 'r.db'}"
    assert main(["check", write(tmp_path, VALID), "--repository", database, "--result-file", str(result)]) == EXIT_OK
    document = json.loads(result.read_text())
    assert document["passed"] is True
    assert [step["name"] for step in document["steps"]][-1] == "dry-run refresh"
    assert all(step["ok"] for step in document["steps"])

    failing = write(tmp_path, VALID.replace("elements: 3", "elements: 3\n      failAfterWriting: true"))
    assert main(["check", failing, "--repository", database, "--result-file", str(result)]) == EXIT_CONNECTOR_FAILED
    document = json.loads(result.read_text())
    assert document["passed"] is False and "failing on purpose" in document["steps"][-1]["detail"]


def test_a_check_result_too_long_for_a_termination_message_shortens_details_not_steps() -> None:
    steps = [CheckStep(f"step {n}", True, "x" * 3000) for n in range(5)] + [CheckStep(DRY_RUN_STEP, True, "done")]
    document = result_document(steps)
    assert len(document.encode()) <= TERMINATION_MESSAGE_LIMIT
    parsed = json.loads(document)
    assert parsed["passed"] is True and len(parsed["steps"]) == 6
    assert parsed["steps"][0]["detail"].endswith("…") and parsed["steps"][-1]["detail"] == "done"


def test_check_sets_the_audit_log_before_start(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = write(tmp_path, VALID.replace(":WritingConnector", ":AuditingWritingConnector"))
    assert main(["check", manifest, "--repository", f"sqlite:///{tmp_path / 'r.db'}"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "ok   start" in out and "ok   dry-run refresh  would create 3" in out


BAD_MANIFESTS = {
    "wrong apiVersion": (VALID.replace("metaferry.io/v1alpha1", "metaferry.io/v1"), "apiVersion: expected"),
    "wrong kind": (VALID.replace("kind: IntegrationConnector", "kind: Connector"), "kind: expected"),
    "no spec": (
        "apiVersion: metaferry.io/v1alpha1\nkind: IntegrationConnector\nmetadata: {name: a}\n",
        "spec: Field required",
    ),
    "unknown service": (
        VALID.replace("integrationService: files", "integrationService: mail"),
        "spec.integrationService: Input should be",
    ),
    "bad interval": (
        VALID.replace("  connection:", "  refreshInterval: 10 minutes\n  connection:"),
        "spec.refreshInterval: '10 minutes' is not a duration",
    ),
    "interval too short": (
        VALID.replace("  connection:", "  refreshInterval: 1s\n  connection:"),
        "refreshInterval must be 0 or between 10s and 168h",
    ),
    "unknown field": (
        VALID.replace("  connection:", "  refreshIntervall: 1m\n  connection:"),
        "spec.refreshIntervall: unknown field",
    ),
    "reserved label": (
        VALID + "  pod:\n    labels: {app.kubernetes.io/name: mine}\n",
        "pod labels starting with app.kubernetes.io/ or metaferry.io/ are reserved: app.kubernetes.io/name",
    ),
    "bad name": (VALID.replace("name: writer", "name: Writer_1"), "metadata.name: String should match pattern"),
    "not yaml": ("spec: [unclosed\n", "not valid YAML"),
    "two documents": (
        VALID + "---\n" + VALID,
        "expected exactly one IntegrationConnector among its 2 YAML documents, found 2",
    ),
    "a secret and no connector": (
        "apiVersion: v1\nkind: Secret\nmetadata: {name: a}\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n",
        "expected exactly one IntegrationConnector among its 2 YAML documents, found 0",
    ),
    "list document": ("- a\n- b\n", "the document must be a mapping"),
    "bad connector": (
        VALID.replace("tests.runtime.sample_connectors:WritingConnector", "not a name!"),
        "spec.connector: String should match pattern",
    ),
    "env value and valueFrom": (
        VALID
        + "  pod:\n    env:\n    - name: A\n      value: x\n      valueFrom: {fieldRef: {fieldPath: metadata.name}}\n",
        "set value or valueFrom, not both",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_MANIFESTS))
def test_bad_manifests_exit_2_naming_file_field_and_expectation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    text, expected = BAD_MANIFESTS[case]
    manifest = write(tmp_path, text)
    assert main(["run", manifest, "--once", "--repository", f"sqlite:///{tmp_path / 'r.db'}"]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert manifest in err
    assert expected in err


def test_a_manifest_beside_its_secret_runs_the_connector(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    secret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: writer-credentials\nstringData:\n  token: abcdefgh\n"
    manifest = write(tmp_path, secret + "---\n" + VALID)
    assert main(["run", manifest, "--once", "--repository", f"sqlite:///{tmp_path / 'r.db'}"]) == EXIT_OK
    assert "created          3" in capsys.readouterr().out


def test_a_missing_file_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(tmp_path / "nope.yaml"), "--once"]) == EXIT_BAD_INPUT
    assert "cannot read the file" in capsys.readouterr().err


def test_help_documents_exit_codes() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "metaferry_runtime.cli", "run", "--help"], capture_output=True, text=True, check=True
    )
    assert "exit codes:" in result.stdout
    assert "3  the open metadata repository cannot be opened" in result.stdout


@pytest.mark.postgres
def test_run_once_on_postgresql_commits_to_the_shared_repository(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], postgres_database: str
) -> None:
    manifest = write(tmp_path, VALID)
    assert main(["run", manifest, "--once", "--repository", postgres_database]) == EXIT_OK
    assert "created          3" in capsys.readouterr().out
    assert main(["elements", "--repository", postgres_database, "--collection", "default/writer"]) == EXIT_OK
    assert "(3 elements)" in capsys.readouterr().out


@pytest.mark.parametrize("command", [["run", "--once"], ["check"]])
def test_a_secured_property_shorter_than_six_characters_is_refused_at_load_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    manifest = write(tmp_path, VALID)
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "username").write_text("metaferry-reader\n")
    (secrets / "password").write_text("zq9\n")
    database = f"sqlite:///{tmp_path / 'r.db'}"
    argv = [command[0], manifest, *command[1:], "--repository", database, "--secrets-dir", str(secrets)]
    assert main(argv) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert f"secured property 'password' ({secrets / 'password'}) is 3 characters long" in err
    assert "at least 6 characters" in err
    assert "zq9" not in err, "the refused value itself is never printed"


def test_check_prints_every_line_with_secrets_masked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = write(tmp_path, VALID.replace(":WritingConnector", ":LeakingConnector"))
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "password").write_text("hunter2-very-secret\n")
    argv = ["check", manifest, "--repository", f"sqlite:///{tmp_path / 'r.db'}", "--secrets-dir", str(secrets)]
    assert main(argv) == EXIT_CONNECTOR_FAILED
    captured = capsys.readouterr()
    assert "hunter2-very-secret" not in captured.out + captured.err
    assert "ok   secrets          1 secured properties" in captured.out
    assert "FAIL  dry-run refresh  RuntimeError: cannot log in with ****" in captured.out
    assert "connecting with pw=****" in captured.err, "a connector's own logging is masked too"


WITH_SECRET_REF = VALID.replace("  connection:\n", "  connection:\n    secretRef: {name: db-credentials}\n")


def test_check_fails_the_secrets_step_when_the_named_secret_is_not_mounted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("METAFERRY_SECRETS_DIR", raising=False)
    manifest = write(tmp_path, WITH_SECRET_REF)
    assert main(["check", manifest, "--repository", f"sqlite:///{tmp_path / 'r.db'}"]) == EXIT_CONNECTOR_FAILED
    out = capsys.readouterr().out
    failed = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert len(failed) == 1 and failed[0].startswith("FAIL  secrets ")
    assert "Secret 'db-credentials'" in failed[0]
    assert "--secrets-dir" in failed[0] and "METAFERRY_SECRETS_DIR" in failed[0]
    assert "dry-run refresh" not in out, "nothing runs without the connector's secured properties"


def test_run_ends_config_failed_naming_the_secret_and_where_its_keys_come_from(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("METAFERRY_SECRETS_DIR", raising=False)
    manifest = write(tmp_path, WITH_SECRET_REF)
    database = f"sqlite:///{tmp_path / 'r.db'}"
    assert main(["run", manifest, "--once", "--repository", database]) == EXIT_CONNECTOR_FAILED
    out = capsys.readouterr().out
    assert "result           connector did not start: CONFIG_FAILED" in out
    error = next(line for line in out.splitlines() if line.startswith("error"))
    assert "Secret 'db-credentials'" in error
    assert "--secrets-dir" in error and "METAFERRY_SECRETS_DIR" in error


def test_a_mounted_secret_directory_given_by_environment_satisfies_the_secret_ref(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "password").write_text("hunter2-very-secret\n")
    monkeypatch.setenv("METAFERRY_SECRETS_DIR", str(secrets))
    manifest = write(tmp_path, WITH_SECRET_REF)
    assert main(["check", manifest, "--repository", f"sqlite:///{tmp_path / 'r.db'}"]) == EXIT_OK
    assert "ok   secrets          1 secured properties" in capsys.readouterr().out


def test_an_api_token_shorter_than_six_characters_is_refused_at_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = write(tmp_path, VALID)
    token = tmp_path / "token"
    token.write_text("zq9\n")
    argv = ["run", manifest, "--token-file", str(token), "--repository", f"sqlite:///{tmp_path / 'r.db'}"]
    assert main(argv) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert f"the API token in {token} is 3 characters long" in err and "at least 6 characters" in err
    assert "zq9" not in err


def test_connectors_lists_the_built_in_connectors_with_their_services(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["connectors"]) == EXIT_OK
    rows = {line.split()[0]: line.split()[1] for line in capsys.readouterr().out.splitlines()[1:]}
    assert rows["directory-monitor"] == "files"
    assert rows["postgres-schema"] == "database"
    assert rows["sqlite-schema"] == "database"


def test_run_once_names_an_archive_the_fail_safe_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    for i in range(4):
        (tree / f"{i}.csv").write_text("id\n")
    manifest = write(
        tmp_path,
        f"""\
        apiVersion: metaferry.io/v1alpha1
        kind: IntegrationConnector
        metadata:
          name: files
        spec:
          integrationService: files
          connector: directory-monitor
          connection:
            endpoint: {tree}
        """,
    )
    database = f"sqlite:///{tmp_path / 'r.db'}"
    assert main(["run", manifest, "--once", "--repository", database]) == EXIT_OK
    for i in range(3):
        (tree / f"{i}.csv").unlink()
    (tree / "new.csv").write_text("id\n")
    capsys.readouterr()
    assert main(["run", manifest, "--once", "--repository", database]) == EXIT_OK, "the refresh itself succeeds"
    out = capsys.readouterr().out
    assert "result           succeeded" in out and "created          1" in out
    assert "would archive    3" in out
    assert "archive refused  The deletion fail-safe" in out and "maxArchivePercent" in out
    assert main(["check", manifest, "--repository", database]) == EXIT_OK
    out = capsys.readouterr().out
    assert "archive 0; the deletion fail-safe would refuse to archive 3 of the 5 elements in scope" in out
