"""Audit records: Egeria's fields, one JSON document each, secrets masked at the source."""

from __future__ import annotations

import json
import logging

import pytest

from metaferry_runtime.audit import AuditLog, RuntimeMessages, SecretMasker


def test_a_record_carries_id_severity_text_actions_and_connector(caplog: pytest.LogCaptureFixture) -> None:
    log = AuditLog("metaferry-runtime", connector_name="files")
    with caplog.at_level(logging.INFO, logger="metaferry.audit"):
        log.log_message("start", RuntimeMessages.CONNECTOR_STARTED, connector_name="files", interval="10m")
    document = json.loads(caplog.records[-1].getMessage())
    assert document["messageId"] == "METAFERRY-RUNTIME-0005"
    assert document["severity"] == "Startup"
    assert document["text"] == "Connector files has started"
    assert document["systemAction"] == "The connector will be refreshed at start, every 10m and on request."
    assert document["userAction"] == "No action is required."
    assert document["connectorName"] == "files"


def test_exceptions_record_class_and_message_with_secrets_masked() -> None:
    masker = SecretMasker(["p@ssw0rd!"])
    log = AuditLog("metaferry-runtime", connector_name="db", masker=masker)
    record = log.log_exception(
        "refresh",
        RuntimeMessages.REFRESH_FAILED,
        ConnectionError("login failed for password p@ssw0rd!"),
        connector_name="db",
        refresh_id="r1",
    )
    assert record.exception_class == "ConnectionError"
    assert record.exception_message == "login failed for password ****"
    assert "p@ssw0rd!" not in record.to_json()
    assert record.text == "Connector db failed in refresh r1: ConnectionError: login failed for password ****"


def test_a_child_log_shares_records_and_masking_with_its_parent() -> None:
    parent = AuditLog("metaferry-runtime", connector_name="c", masker=SecretMasker(["topsecret"]))
    child = parent.child("connector/directory-monitor")
    child.log_message("x", RuntimeMessages.DISCONNECTED, connector_name="topsecret")
    assert parent.records()[-1].component == "metaferry-runtime/connector/directory-monitor"
    assert parent.records()[-1].text == "Connector **** is disconnected"


def test_every_message_id_is_unique_and_well_formed() -> None:
    messages = [v for k, v in vars(RuntimeMessages).items() if not k.startswith("_")]
    ids = [m.message_id for m in messages]
    assert len(ids) == len(set(ids))
    assert all(i.startswith("METAFERRY-RUNTIME-") and len(i) == len("METAFERRY-RUNTIME-0000") for i in ids)


def test_the_longest_secret_is_masked_whole() -> None:
    masker = SecretMasker(["abcdef", "abcdef-ghi"])
    assert masker.mask("value abcdef-ghi") == "value ****"
