"""A connector for the operator's cluster tests: each refresh appends one JSON line to ``<endpoint>/refreshes.jsonl``.

The line records the runtime's pid, the ``marker`` configuration property and a digest of the secured
property ``password``, so a test can see from outside which process refreshed, with which configuration
and which Secret, without the runtime's built-in connectors. ``startDelay`` (seconds) slows ``start()``
so a test can act while the pod is not ready yet; ``refreshDelay`` (seconds) slows each refresh, and a file
``<endpoint>/fail-refresh`` makes refreshes fail while it exists.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

from metaferry_runtime.sdk import IntegrationConnector


class RecordingConnector(IntegrationConnector):  # type: ignore[type-arg]
    integration_service = None

    def start(self) -> None:
        time.sleep(float(self.connection.configuration_properties.get("startDelay", 0)))

    def refresh(self) -> None:
        started = time.time()  # the line records when the refresh started, whatever refreshDelay adds
        time.sleep(float(self.connection.configuration_properties.get("refreshDelay", 0)))
        if (Path(self.connection.endpoint or ".") / "fail-refresh").exists():
            raise RuntimeError("the test asked this refresh to fail")
        password = self.connection.secret("password") or ""
        line = {
            "pid": os.getpid(),
            "time": started,
            "marker": self.connection.configuration_properties.get("marker"),
            "secret": hashlib.sha256(password.encode()).hexdigest()[:12],
        }
        with (Path(self.connection.endpoint or ".") / "refreshes.jsonl").open("a") as log:
            log.write(json.dumps(line) + "\n")
