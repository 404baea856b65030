"""The connector's status with the time of each change, and the listeners (metrics) told of every change."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from metaferry_runtime.report import ConnectorStatus

StatusListener = Callable[[ConnectorStatus], None]


class StatusTracker:
    def __init__(self, initial: ConnectorStatus = ConnectorStatus.STOPPED) -> None:
        self._status = initial
        self._changed = datetime.now(UTC)
        self._listeners: list[StatusListener] = []

    @property
    def status(self) -> ConnectorStatus:
        return self._status

    @property
    def last_change(self) -> datetime:
        return self._changed

    def on_change(self, listener: StatusListener) -> None:
        self._listeners.append(listener)
        listener(self._status)

    def set(self, status: ConnectorStatus) -> None:
        if status is self._status:
            return
        self._status = status
        self._changed = datetime.now(UTC)
        for listener in self._listeners:
            listener(status)
