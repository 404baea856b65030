"""The dedicated engage thread of a connector that uses blocking calls (Egeria's DedicatedConnectorThread).

engage() is expected to block on the third party, process what arrived and return; the thread pauses
(1 s by default) and calls it again until it is stopped. An exception ends the loop and is handed to the
runtime, which marks the connector FAILED and restarts it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from metaferry_runtime.audit import AuditLog, RuntimeMessages


class EngageThread:
    def __init__(
        self,
        *,
        engage: Callable[[], None],
        on_failure: Callable[[BaseException], None],
        audit_log: AuditLog,
        connector_name: str,
        pause_seconds: float = 1.0,
    ) -> None:
        self._engage = engage
        self._on_failure = on_failure
        self._audit_log = audit_log
        self._connector_name = connector_name
        self._pause = pause_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"metaferry-engage-{connector_name}", daemon=True)
        self.calls = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float) -> bool:
        """Wait for the loop to end; False if engage() is still blocked after `timeout` seconds."""
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._engage()
            except BaseException as error:
                if not self._stop.is_set():
                    self._on_failure(error)
                return
            self.calls += 1
            self._audit_log.log_message(
                "engage", RuntimeMessages.ENGAGE_RETURNED, connector_name=self._connector_name, pause=f"{self._pause}s"
            )
            self._stop.wait(self._pause)
