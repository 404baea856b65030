"""Container probes as the kubelet runs them: httpGet, tcpSocket and exec, with their timing fields.

A :class:`ProbeState` holds one probe's schedule and consecutive-result counters; the pod runner
calls :meth:`ProbeState.due` and :meth:`ProbeState.record` and reads ``healthy``. gRPC probes are
not implemented and count as passing (the runner logs a warning once).
"""

from __future__ import annotations

import dataclasses
import logging
import socket
import ssl
import subprocess
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

logger = logging.getLogger(__name__)
Json = dict[str, Any]


@dataclasses.dataclass
class ProbeState:
    """Timing and thresholds of one probe of one container run."""

    spec: Json
    started: float  # when the container started (monotonic)
    healthy: bool
    next_due: float = 0.0
    successes: int = 0
    failures: int = 0

    def __post_init__(self) -> None:
        self.next_due = self.started + self.spec.get("initialDelaySeconds", 0)

    def due(self, now: float) -> bool:
        return now >= self.next_due

    def record(self, ok: bool, now: float) -> None:
        self.next_due = now + self.spec.get("periodSeconds", 10)
        if ok:
            self.successes, self.failures = self.successes + 1, 0
            if self.successes >= self.spec.get("successThreshold", 1):
                self.healthy = True
        else:
            self.successes, self.failures = 0, self.failures + 1
            if self.failures >= self.spec.get("failureThreshold", 3):
                self.healthy = False


def _port(port: int | str, container: Json) -> int:
    if isinstance(port, int) or port.isdigit():
        return int(port)
    for declared in container.get("ports") or []:
        if declared.get("name") == port:
            return int(declared["containerPort"])
    raise ValueError(f"no container port named {port!r}")


def run(spec: Json, *, pod_ip: str, container: Json, pid: int | None, env: Mapping[str, str]) -> bool:
    """Run a probe once; True when it passes."""
    timeout = float(spec.get("timeoutSeconds", 1))
    try:
        if "httpGet" in spec:
            return _http(spec["httpGet"], pod_ip=pod_ip, container=container, timeout=timeout)
        if "tcpSocket" in spec:
            host = spec["tcpSocket"].get("host") or pod_ip
            with socket.create_connection((host, _port(spec["tcpSocket"]["port"], container)), timeout=timeout):
                return True
        if "exec" in spec:
            return _exec(spec["exec"]["command"], pid=pid, env=env, timeout=timeout)
    except (OSError, ValueError, subprocess.SubprocessError):
        return False
    logger.warning("probe %s is not supported by the pod runner; counting it as passing", sorted(spec))
    return True


def _http(get: Json, *, pod_ip: str, container: Json, timeout: float) -> bool:
    scheme = get.get("scheme", "HTTP").lower()
    host = get.get("host") or pod_ip
    path = get.get("path", "/")
    request = urllib.request.Request(f"{scheme}://{host}:{_port(get['port'], container)}{path}")
    for header in get.get("httpHeaders") or []:
        request.add_header(header["name"], header["value"])
    context = ssl._create_unverified_context() if scheme == "https" else None  # as the kubelet: no verification
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            return 200 <= int(response.status) < 400
    except urllib.error.HTTPError as error:
        return 200 <= error.code < 400


def _exec(command: list[str], *, pid: int | None, env: Mapping[str, str], timeout: float) -> bool:
    """Run ``command`` in the container's mount namespace (nsenter), with the container's environment."""
    argv = ["nsenter", f"--target={pid}", "--mount", "--", *command] if pid else command
    result = subprocess.run(argv, env=dict(env), timeout=timeout, capture_output=True, check=False)
    return result.returncode == 0
