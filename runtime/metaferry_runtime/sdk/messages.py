"""A connector's audit message catalogue, checked when its module is imported.

Operators search logs by message id, so two messages with one id would send them to the wrong fix; a
duplicate is refused when the class is defined, not when the message is first logged.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from metaferry_runtime.audit.messages import AuditMessage, Severity

_DEFINED: dict[str, str] = {}
#: The id a `numbered` message has until its catalogue is defined and gives it the prefix.
_UNNUMBERED = "{prefix}"


def numbered(number: int, severity: Severity, template: str, system_action: str, user_action: str) -> AuditMessage:
    """A message of the catalogue being defined, numbered within its prefix: `CONNECTED = numbered(1, ...)`
    in the class body becomes `PREFIX-0001` when the class is created."""
    return AuditMessage(f"{_UNNUMBERED}-{number:04d}", severity, template, system_action, user_action)


class MessageCatalogue:
    """Subclass it and declare `AuditMessage` attributes, or build them with `message(...)`."""

    prefix: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        owner = f"{cls.__module__}.{cls.__qualname__}"
        for attribute, value in list(vars(cls).items()):
            if not isinstance(value, AuditMessage):
                continue
            if value.message_id.startswith(_UNNUMBERED):
                if not cls.prefix:
                    raise ValueError(f"{owner} needs a prefix to number its messages")
                value = dataclasses.replace(value, message_id=cls.prefix + value.message_id[len(_UNNUMBERED) :])
                setattr(cls, attribute, value)
            where = f"{owner}.{attribute}"
            previous = _DEFINED.get(value.message_id)
            if previous is not None and previous != where:
                raise ValueError(f"audit message id {value.message_id} is defined twice: {previous} and {where}")
            _DEFINED[value.message_id] = where

    @classmethod
    def message(
        cls, number: int, severity: Severity, template: str, system_action: str, user_action: str
    ) -> AuditMessage:
        """An AuditMessage whose id is `PREFIX-NNNN`."""
        if not cls.prefix:
            raise ValueError(f"{cls.__qualname__} needs a prefix to number its messages")
        return AuditMessage(f"{cls.prefix}-{number:04d}", severity, template, system_action, user_action)
