"""A connector's message catalogue refuses a duplicate id when it is defined."""

from __future__ import annotations

import pytest

from metaferry_runtime.sdk import AuditMessage, MessageCatalogue, Severity, numbered


def test_a_catalogue_numbers_its_messages_with_its_prefix() -> None:
    class Messages(MessageCatalogue):
        prefix = "CATALOGUE-TEST-A"
        STARTED = AuditMessage("CATALOGUE-TEST-A-0001", Severity.INFO, "{name} started", "none", "none")

    assert Messages.STARTED.message_id == "CATALOGUE-TEST-A-0001"
    assert Messages.message(2, Severity.ERROR, "x", "s", "u").message_id == "CATALOGUE-TEST-A-0002"


def test_a_duplicate_id_is_refused_when_the_class_is_defined() -> None:
    with pytest.raises(ValueError, match="CATALOGUE-TEST-B-0001 is defined twice"):

        class Messages(MessageCatalogue):
            ONE = AuditMessage("CATALOGUE-TEST-B-0001", Severity.INFO, "one", "none", "none")
            TWO = AuditMessage("CATALOGUE-TEST-B-0001", Severity.INFO, "two", "none", "none")


def test_a_duplicate_id_across_catalogues_is_refused() -> None:
    class First(MessageCatalogue):
        ONE = AuditMessage("CATALOGUE-TEST-C-0001", Severity.INFO, "one", "none", "none")

    with pytest.raises(ValueError, match="defined twice"):

        class Second(MessageCatalogue):
            ONE = AuditMessage("CATALOGUE-TEST-C-0001", Severity.INFO, "one", "none", "none")


def test_messages_declared_with_numbered_take_the_catalogue_prefix() -> None:
    class Messages(MessageCatalogue):
        prefix = "CATALOGUE-TEST-D"
        STARTED = numbered(1, Severity.STARTUP, "{name} started", "none", "none")
        STOPPED = numbered(2, Severity.SHUTDOWN, "{name} stopped", "none", "none")

    assert [Messages.STARTED.message_id, Messages.STOPPED.message_id] == [
        "CATALOGUE-TEST-D-0001",
        "CATALOGUE-TEST-D-0002",
    ]
    assert Messages.STOPPED.format(name="x") == "x stopped"


def test_numbered_messages_need_a_prefix() -> None:
    with pytest.raises(ValueError, match="needs a prefix"):

        class Messages(MessageCatalogue):
            STARTED = numbered(1, Severity.STARTUP, "started", "none", "none")


def test_two_numbered_messages_with_one_number_are_refused() -> None:
    with pytest.raises(ValueError, match="CATALOGUE-TEST-E-0001 is defined twice"):

        class Messages(MessageCatalogue):
            prefix = "CATALOGUE-TEST-E"
            ONE = numbered(1, Severity.INFO, "one", "none", "none")
            TWO = numbered(1, Severity.INFO, "two", "none", "none")
