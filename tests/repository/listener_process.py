"""A separate OS process that listens to a repository's out topic and prints each event as one line.

Usage: python listener_process.py URL FROM_SEQUENCE. Prints "ready" once registered, then
"<sequence> <kind> <qualified name>" per event, flushed at once, until stdin closes.
"""

from __future__ import annotations

import sys

from metaferry_runtime.repository import ChangeEvent, open_repository


def main() -> None:
    url, from_sequence = sys.argv[1], int(sys.argv[2])
    repository = open_repository(url, poll_interval=5.0)  # long poll: delivery must come from NOTIFY

    def show(event: ChangeEvent) -> None:
        name = event.element.qualified_name if event.element else "-"
        print(event.sequence, event.kind.value, name, flush=True)

    unregister = repository.register_listener(show, from_sequence=from_sequence)
    print("ready", flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    unregister()
    repository.close()


if __name__ == "__main__":
    main()
