"""What a process holds that a connector could leak: live threads and open file descriptors (files, sockets,
pipes, inotify watches), compared before and after a connector's life.

A connector's threads may end a moment after disconnect() returns (a watcher noticing its stop event), so
`leaked_since` waits for them, up to a deadline, before calling them leaked.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

FD_DIRECTORY = "/proc/self/fd"


@dataclass(frozen=True)
class ProcessResources:
    threads: frozenset[threading.Thread]
    descriptors: dict[int, str]  # fd -> what it points at

    @classmethod
    def now(cls) -> ProcessResources:
        return cls(threads=frozenset(t for t in threading.enumerate() if t.is_alive()), descriptors=_descriptors())

    def leaked_since(self, before: ProcessResources, *, wait: float = 5.0) -> list[str]:
        """Threads and descriptors alive now that were not `before`, each described; waits up to `wait` s."""
        deadline = time.monotonic() + wait
        current = self
        while True:
            threads = sorted(current.threads - before.threads, key=lambda t: t.name)
            descriptors = {
                fd: target for fd, target in current.descriptors.items() if before.descriptors.get(fd) != target
            }
            if not (threads or descriptors) or time.monotonic() >= deadline:
                break
            time.sleep(0.05)
            current = ProcessResources.now()
        return [f"thread {t.name!r}" for t in threads] + [f"fd {fd} -> {t}" for fd, t in sorted(descriptors.items())]


def _descriptors() -> dict[int, str]:
    found: dict[int, str] = {}
    try:
        entries = os.listdir(FD_DIRECTORY)
    except OSError:  # not Linux: only threads are compared
        return found
    for entry in entries:
        try:
            found[int(entry)] = os.readlink(f"{FD_DIRECTORY}/{entry}")
        except OSError:
            continue  # the descriptor listdir itself used, closed again
    return found
