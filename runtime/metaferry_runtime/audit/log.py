"""The audit log given to every connector: structured records, JSON lines, secrets masked at the source.

Masking happens here, when a record is built, so no sink (stdout, the report, events) can ever see a
secured property's value.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from metaferry_runtime.audit.masking import SecretMasker
from metaferry_runtime.audit.messages import AuditMessage

_logger = logging.getLogger("metaferry.audit")


@dataclass(frozen=True)
class AuditRecord:
    time: datetime
    message_id: str
    severity: str
    text: str
    system_action: str
    user_action: str
    component: str
    connector_name: str | None
    action_description: str
    exception_class: str | None = None
    exception_message: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        document = {
            "time": self.time.isoformat(),
            "messageId": self.message_id,
            "severity": self.severity,
            "text": self.text,
            "systemAction": self.system_action,
            "userAction": self.user_action,
            "component": self.component,
            "connectorName": self.connector_name,
            "actionDescription": self.action_description,
        }
        if self.exception_class:
            document["exceptionClass"] = self.exception_class
            document["exceptionMessage"] = self.exception_message
        return json.dumps(document, default=str)


class AuditLog:
    """Writes audit records for one component; `child()` gives a connector its own log under the runtime's."""

    def __init__(
        self,
        component: str,
        *,
        connector_name: str | None = None,
        masker: SecretMasker | None = None,
        keep: int = 200,
        _records: deque[AuditRecord] | None = None,
    ) -> None:
        self.component = component
        self.connector_name = connector_name
        self.masker = masker or SecretMasker()
        self._records: deque[AuditRecord] = _records if _records is not None else deque(maxlen=keep)

    def child(self, component: str, *, connector_name: str | None = None) -> AuditLog:
        """A log for a sub-component; it shares the masker and the record buffer with its parent."""
        return AuditLog(
            f"{self.component}/{component}",
            connector_name=connector_name or self.connector_name,
            masker=self.masker,
            _records=self._records,
        )

    def log_message(self, action_description: str, message: AuditMessage, **params: object) -> AuditRecord:
        return self._emit(action_description, message, None, params)

    def log_exception(
        self, action_description: str, message: AuditMessage, error: BaseException, **params: object
    ) -> AuditRecord:
        params.setdefault("error_class", type(error).__name__)
        params.setdefault("error_message", str(error))
        return self._emit(action_description, message, error, params)

    def records(self) -> list[AuditRecord]:
        """The most recent records (newest last)."""
        return list(self._records)

    def _emit(
        self, action: str, message: AuditMessage, error: BaseException | None, params: dict[str, object]
    ) -> AuditRecord:
        mask = self.masker.mask
        record = AuditRecord(
            time=datetime.now(UTC),
            message_id=message.message_id,
            severity=message.severity.value,
            text=mask(message.format(**params)),
            system_action=mask(message.system_action.format(**params)),
            user_action=mask(message.user_action.format(**params)),
            component=self.component,
            connector_name=self.connector_name,
            action_description=action,
            exception_class=type(error).__name__ if error else None,
            exception_message=mask(str(error)) if error else None,
        )
        self._records.append(record)
        _logger.log(_level(message), record.to_json())
        return record


def _level(message: AuditMessage) -> int:
    name = message.severity.name
    if name in ("ERROR", "EXCEPTION", "SECURITY"):
        return logging.ERROR
    if name == "WARNING":
        return logging.WARNING
    if name == "TRACE":
        return logging.DEBUG
    return logging.INFO
