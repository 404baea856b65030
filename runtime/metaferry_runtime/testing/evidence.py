"""What the conformance suite looks at: the texts a secret must not appear in (audit records, events, log
records as emitted), and how it runs the engine from a test that may already be inside an event loop."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote, quote_plus

from metaferry_runtime.repository import ChangeEvent
from metaferry_runtime.testing.faults import InjectedFailure
from metaferry_runtime.testing.harness import ConnectorHarness


def secret_forms(secret: str) -> set[str]:
    return {secret, quote(secret, safe=""), quote_plus(secret, safe=""), json.dumps(secret)[1:-1]}


def audit_texts(harness: ConnectorHarness[Any]) -> list[tuple[str, str]]:
    return [(f"audit record {r.message_id}", json.dumps(r.__dict__, default=str)) for r in harness.audit_records()]


def event_texts(where: str, events: list[ChangeEvent]) -> list[tuple[str, str]]:
    return [(f"{where} {event_summary(event)}", event.model_dump_json()) for event in events]


def event_summary(event: ChangeEvent) -> str:
    if event.element is not None:
        return f"{event.kind.value} {event.element.qualified_name}"
    relationship = event.relationship
    return f"{event.kind.value} {relationship.type_name if relationship else ''}"


def describe_failure(error: BaseException) -> str:
    kind = "the injected failure" if isinstance(error, InjectedFailure) else type(error).__name__
    return f"{kind}: {error}"


def run_coroutine(factory: Callable[[], Any]) -> Any:
    """Run `factory()`'s coroutine to the end, on a thread of its own if this one already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(asyncio.run(factory()))
        except BaseException as error:
            outcome.append(error)

    thread = threading.Thread(target=run, name="metaferry-testing-engine")
    thread.start()
    thread.join()
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.lines.append((f"a log record of {record.name}", text))


@contextmanager
def captured_logs() -> Iterator[list[tuple[str, str]]]:
    """Every log record made meanwhile, as emitted (before any masking handler), at every level."""
    root = logging.getLogger()
    collector = _Collector()
    level = root.level
    root.addHandler(collector)
    root.setLevel(logging.DEBUG)
    try:
        yield collector.lines
    finally:
        root.setLevel(level)
        root.removeHandler(collector)
