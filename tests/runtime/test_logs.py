"""The runtime's log handler: JSON lines or text, and every secret masked, tracebacks and uncaught errors too."""

from __future__ import annotations

import json
import logging
import sys
import threading
from pathlib import Path

import pytest

from metaferry_runtime.audit import SecretMasker
from metaferry_runtime.cli import EXIT_CONNECTOR_FAILED, main
from metaferry_runtime.logs import configure_logging

SECRET = "hunter2-very-secret"
log = logging.getLogger("tests.logs")


pytestmark = pytest.mark.usefixtures("isolated_logging")


def _fail_with_the_secret() -> None:
    raise ValueError(f"bad credentials {SECRET}")


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_log_records_and_their_tracebacks_are_masked(capsys: pytest.CaptureFixture[str], log_format: str) -> None:
    configure_logging(log_format=log_format, masker=SecretMasker([SECRET]))
    log.warning("pw=%s", SECRET)
    try:
        _fail_with_the_secret()
    except ValueError:
        log.exception("login as %s failed", SECRET)
    err = capsys.readouterr().err
    assert SECRET not in err
    assert "pw=****" in err
    assert "login as **** failed" in err
    assert "Traceback (most recent call last)" in err
    assert "ValueError: bad credentials ****" in err
    if log_format == "json":
        documents = [json.loads(line) for line in err.splitlines()]
        assert [d["message"] for d in documents] == ["pw=****", "login as **** failed"]


def test_a_secret_added_after_logging_is_configured_is_masked(capsys: pytest.CaptureFixture[str]) -> None:
    masker = SecretMasker()
    configure_logging(log_format="text", masker=masker)
    masker.add(["api-token-added-later"])
    log.warning("token api-token-added-later")
    assert capsys.readouterr().err.strip() == "WARNING token ****"


def test_uncaught_exceptions_are_logged_masked_on_the_main_thread_and_on_threads(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(log_format="text", masker=SecretMasker([SECRET]))
    try:
        _fail_with_the_secret()
    except ValueError:
        sys.excepthook(*sys.exc_info())  # what the interpreter calls for an exception nobody caught
    thread = threading.Thread(target=_fail_with_the_secret, name="leaky-thread")
    thread.start()
    thread.join()
    err = capsys.readouterr().err
    assert SECRET not in err
    assert err.count("ValueError: bad credentials ****") == 2
    assert "leaky-thread" in err


LEAKING = """\
apiVersion: metaferry.io/v1alpha1
kind: IntegrationConnector
metadata:
  name: leaky
spec:
  integrationService: files
  connector: tests.runtime.sample_connectors:LeakingConnector
  connection:
    secretRef: {name: leaky-credentials}
"""


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_run_masks_a_connectors_plain_logging_and_tracebacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], log_format: str
) -> None:
    manifest = tmp_path / "connector.yaml"
    manifest.write_text(LEAKING)
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "password").write_text(SECRET)
    argv = ["run", str(manifest), "--once", "--log-format", log_format, "--secrets-dir", str(secrets)]
    assert main([*argv, "--repository", f"sqlite:///{tmp_path / 'r.db'}"]) == EXIT_CONNECTOR_FAILED
    captured = capsys.readouterr()
    assert SECRET not in captured.out + captured.err
    assert "connecting with pw=****" in captured.err
    assert "ConnectionError: login refused for pw=****" in captured.err
    assert "RuntimeError: cannot log in with ****" in captured.out
