"""Logging set-up: JSON lines in pods (one record per line, what log pipelines expect), text for people.

Every handler configured here formats through the runtime's secret masker, so nothing a connector or a
library logs (arguments, tracebacks, stack information) reaches the output with a secret in it. Exceptions
nobody caught, on the main thread or on a connector's thread, are routed through the same handler.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from datetime import UTC, datetime
from types import TracebackType

from metaferry_runtime.audit import SecretMasker

_uncaught = logging.getLogger("metaferry.uncaught")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.name == "metaferry.audit":
            return message  # audit records are JSON already
        document = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
        }
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return json.dumps(document)


class AuditTextFormatter(logging.Formatter):
    """Human-readable audit lines: `time SEVERITY MESSAGE-ID text`."""

    def format(self, record: logging.LogRecord) -> str:
        if record.name != "metaferry.audit":
            return super().format(record)
        data = json.loads(record.getMessage())
        return f"{data['time'][11:19]} {data['severity']:<11} {data['messageId']} {data['text']}"


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the time of each record (it may be replaced after set-up)."""

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


class MaskingFormatter(logging.Formatter):
    """Masks the whole text another formatter produced: the message, its arguments and any traceback."""

    def __init__(self, inner: logging.Formatter, masker: SecretMasker) -> None:
        super().__init__()
        self.inner = inner
        self.masker = masker

    def format(self, record: logging.LogRecord) -> str:
        return self.masker.mask(self.inner.format(record))


def _log_uncaught(
    error_type: type[BaseException], error: BaseException, traceback: TracebackType | None, *, where: str
) -> None:
    _uncaught.critical("uncaught exception in %s", where, exc_info=(error_type, error, traceback))


def _excepthook(error_type: type[BaseException], error: BaseException, traceback: TracebackType | None) -> None:
    _log_uncaught(error_type, error, traceback, where="the main thread")


def _thread_excepthook(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is None or issubclass(args.exc_type, SystemExit):
        return
    thread = args.thread.name if args.thread is not None else "a thread"
    _log_uncaught(args.exc_type, args.exc_value, args.exc_traceback, where=f"thread {thread}")


def configure_logging(*, log_format: str, masker: SecretMasker, level: str = "INFO") -> None:
    """One stderr handler on the root logger, formatting through `masker` (which may learn secrets later)."""
    inner = JsonFormatter() if log_format == "json" else AuditTextFormatter("%(levelname)s %(message)s")
    handler = _StderrHandler()
    handler.setFormatter(MaskingFormatter(inner, masker))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    sys.excepthook = _excepthook
    threading.excepthook = _thread_excepthook
