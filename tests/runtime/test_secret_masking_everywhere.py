"""Every secret value is masked in every channel the runtime process writes to, and no other text changes.

Two halves. The masker itself, over generated texts: secrets (raw, percent-encoded, JSON-escaped) placed
as whole values among ordinary words and punctuation become `****` and everything else stays byte for
byte; the same secrets glued inside longer words stay as they are. Then the channels, end to end: a
connector that puts its password into everything it can reach (plain logging with and without a
traceback, its audit log, the exception that fails its refresh, a database URL) is run by the runtime and
by `check`, and each channel is read the way its consumer reads it (the IntegrationConnector status and
its Events are what the operator computes from `/status`).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from urllib.parse import quote

import pytest
from aiohttp.test_utils import TestClient, TestServer

from metaferry_operator import status_rules
from metaferry_runtime.api import RuntimeApi
from metaferry_runtime.audit import MASK, SecretMasker
from metaferry_runtime.cli import EXIT_CONNECTOR_FAILED, main
from metaferry_runtime.lifecycle import ConnectorRuntime
from metaferry_runtime.logs import configure_logging
from metaferry_runtime.report import ConnectorReport
from metaferry_runtime.repository import MetadataRepository
from tests.operator import builders
from tests.runtime.conftest import make_resource
from tests.waiting import wait_for_async

SECRETS = [
    "hunter2-very-secret",
    'p@ss"w0rd\\x!',
    "mötley crüe 42",
    'crüe"quoted',
    "a.b*c+d?(e)",
    "tokens",
]
# Ordinary words are made of characters no secret above contains, so a word never forms a secret by chance.
WORD_CHARACTERS = "qfjQFJ_89"
SEPARATORS = [" ", "=", ":", "@", "/", "\n", "\t", "'", '"', ",", "(", ")", ";", "-", "&", "?"]
TOKEN = "api-token-for-the-masking-tests"


def forms(secret: str) -> list[str]:
    """The ways a secret's value travels: as is, in a URL, and inside JSON strings."""
    return [
        secret,
        quote(secret, safe=""),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
    ]


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(WORD_CHARACTERS) for _ in range(rng.randint(1, 8)))


def _glued(rng: random.Random, form: str) -> str | None:
    """The secret form inside a longer word (word characters on its word-character edges), or None if it
    has no word-character edge to glue to."""
    front, back = form[0].isalnum() or form[0] == "_", form[-1].isalnum() or form[-1] == "_"
    if not (front or back):
        return None
    return (_word(rng) if front else "") + form + (_word(rng) if back else "")


def test_generated_texts_have_exactly_their_whole_secret_values_masked() -> None:
    rng = random.Random(20261203)
    masker = SecretMasker(SECRETS)
    for case in range(400):
        pieces: list[tuple[str, str]] = []  # (text, what the masker must turn it into)
        for _ in range(rng.randint(1, 12)):
            choice = rng.random()
            if choice < 0.35:
                form = rng.choice(forms(rng.choice(SECRETS)))
                pieces.append((form, MASK))
            elif choice < 0.5 and (glued := _glued(rng, rng.choice(forms(rng.choice(SECRETS))))) is not None:
                pieces.append((glued, glued))
            else:
                word = _word(rng)
                pieces.append((word, word))
        separators = [rng.choice(SEPARATORS) for _ in pieces]
        text = "".join(piece + separator for (piece, _), separator in zip(pieces, separators, strict=True))
        expected = "".join(masked + separator for (_, masked), separator in zip(pieces, separators, strict=True))
        assert masker.mask(text) == expected, f"case {case}: {text!r}"


def test_text_without_secrets_is_never_changed() -> None:
    rng = random.Random(7)
    masker = SecretMasker(SECRETS)
    alphabet = WORD_CHARACTERS + "".join(SEPARATORS) + "abcdehklmnoprstuvwxy*+.ü\\%"
    for _ in range(400):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))
        if any(form in text for secret in SECRETS for form in forms(secret)):
            continue
        assert masker.mask(text) == text


def _assert_masked(channels: dict[str, str], secret: str) -> None:
    for channel, text in channels.items():
        for form in forms(secret):
            assert form not in text, f"{channel} shows the secret as {form!r}"


@pytest.mark.usefixtures("isolated_logging")
@pytest.mark.parametrize("log_format", ["json", "text"])
@pytest.mark.parametrize("secret", SECRETS[:4])
async def test_a_secret_a_connector_leaks_is_masked_in_every_channel_of_the_runtime(
    repository: MetadataRepository, capsys: pytest.CaptureFixture[str], secret: str, log_format: str
) -> None:
    masker = SecretMasker()
    configure_logging(log_format=log_format, masker=masker)
    resource = make_resource(
        "LeakingConnector",
        name="leaky",
        connection={"secretRef": {"name": "leaky-credentials"}},
        autoRestart={"enabled": False},
    )
    runtime = ConnectorRuntime(
        resource=resource, repository=repository, secured_properties={"password": secret}, masker=masker
    )
    async with TestClient(TestServer(RuntimeApi(runtime, token=TOKEN).app)) as client:
        await runtime.start()
        await wait_for_async(lambda: runtime.failed_refresh_count == 1)
        channels = {
            "audit records": "\n".join(record.to_json() for record in runtime.audit_log.records()),
            "report": runtime.report().model_dump_json(),
            "/status": await (await client.get("/status")).text(),
            "/audit": await (await client.get("/audit?limit=200")).text(),
            "/metrics": await (await client.get("/metrics")).text(),
        }
        await runtime.shutdown()
    channels["logs"] = capsys.readouterr().err
    observed = status_rules.Observed(
        generation=1,
        suspended=False,
        desired_hash="h",
        pod=builders.pod(),
        report=ConnectorReport.model_validate_json(channels["/status"]),
    )
    connector_status = status_rules.compute(seen=observed, previous={}, now=builders.NOW)
    events = status_rules.events(previous={}, new=connector_status)
    channels["IntegrationConnector status"] = json.dumps(connector_status)
    channels["Events"] = "\n".join(event.message for event in events)
    _assert_masked(channels, secret)
    # Masked, not dropped: each channel still says what happened, with **** where the secret stood.
    assert json.loads(channels["/status"])["lastError"] == "RuntimeError: cannot log in with ****"
    assert "leaky logs in as ****" in [record["text"] for record in json.loads(channels["/audit"])]
    logs = channels["logs"]
    assert "connecting with pw=****" in logs
    assert "postgresql://reader:****@db:5432/meta" in logs
    assert "Traceback (most recent call last)" in logs
    assert "ConnectionError: login refused for pw=****" in logs
    assert 'metaferry_refreshes_total{result="failed"} 1.0' in channels["/metrics"]
    assert connector_status["lastError"] == "RuntimeError: cannot log in with ****"
    assert "refresh failed: RuntimeError: cannot log in with ****" in [event.message for event in events]


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


@pytest.mark.usefixtures("isolated_logging")
@pytest.mark.parametrize("secret", SECRETS[:4])
def test_a_secret_a_connector_leaks_is_masked_in_check_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], secret: str
) -> None:
    manifest = tmp_path / "connector.yaml"
    manifest.write_text(LEAKING)
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "password").write_text(secret)
    argv = ["check", str(manifest), "--repository", f"sqlite:///{tmp_path / 'r.db'}", "--secrets-dir", str(secrets)]
    assert main(argv) == EXIT_CONNECTOR_FAILED
    captured = capsys.readouterr()
    _assert_masked({"check stdout": captured.out, "check stderr": captured.err}, secret)
    assert "FAIL  dry-run refresh  RuntimeError: cannot log in with ****" in captured.out
    assert "connecting with pw=****" in captured.err
    assert "ConnectionError: login refused for pw=****" in captured.err
