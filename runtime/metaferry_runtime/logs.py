"""Logging set-up: JSON lines in pods (one record per line, what log pipelines expect), text for people."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime


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


def configure_logging(*, log_format: str, level: str = "INFO") -> None:
    handler = _StderrHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else AuditTextFormatter("%(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
