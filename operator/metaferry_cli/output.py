"""What the CLI prints: JSON or YAML for scripts, aligned text for people, colour and progress only on a TTY."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

import yaml

FORMATS = ("text", "json", "yaml")

_COLOURS = {"green": "32", "red": "31", "yellow": "33", "bold": "1", "dim": "2"}
_SPINNER = "|/-\\"


class Output:
    """One command's printer. `format` is text, json or yaml; colours follow the TTY unless NO_COLOR is set."""

    def __init__(self, format: str = "text", *, stream: TextIO | None = None, errors: TextIO | None = None) -> None:
        self.format = format
        self.stream = stream if stream is not None else sys.stdout
        self.errors = errors if errors is not None else sys.stderr
        self.tty = self.stream.isatty()
        self.colour = self.tty and "NO_COLOR" not in os.environ
        self._progress_shown = False
        self._spins = 0

    @property
    def text(self) -> bool:
        return self.format == "text"

    def paint(self, text: str, colour: str) -> str:
        return f"\033[{_COLOURS[colour]}m{text}\033[0m" if self.colour else text

    def result(self, value: str) -> str:
        """A result word in the colour of its meaning."""
        colour = {"Succeeded": "green", "True": "green", "Ready": "green", "Failed": "red", "False": "red"}
        return self.paint(value, colour.get(value, "yellow"))

    def line(self, text: str = "") -> None:
        self._end_progress()
        print(text, file=self.stream)

    def document(self, value: Any) -> None:
        """`value` as JSON or YAML (the `-o json|yaml` forms of every command)."""
        self._end_progress()
        if self.format == "yaml":
            yaml.safe_dump(value, self.stream, sort_keys=False, default_flow_style=False)
        else:
            json.dump(value, self.stream, indent=2, default=str)
            self.stream.write("\n")

    def table(self, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
        for row in [header, *rows]:
            self.line("   ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())

    def progress(self, message: str) -> None:
        """While waiting: one rewritten line with a spinner on a TTY; elsewhere a plain line when it changes."""
        if self.tty:
            self._spins += 1
            self.errors.write(f"\r\033[K{_SPINNER[self._spins % len(_SPINNER)]} {message}")
            self.errors.flush()
            self._progress_shown = True
        elif message != getattr(self, "_last_progress", None):
            self.errors.write(f"{time.strftime('%H:%M:%S')} {message}\n")
            self.errors.flush()
        self._last_progress = message

    def error(self, message: str) -> None:
        self._end_progress()
        self.errors.write(f"{self.paint('error:', 'red')} {message}\n")

    def _end_progress(self) -> None:
        if self._progress_shown:
            self.errors.write("\r\033[K")
            self.errors.flush()
            self._progress_shown = False
