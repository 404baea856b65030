"""Waiting for the operator to report, with a deadline: `--timeout 5m` and the progress shown meanwhile."""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Callable
from typing import TypeVar

from metaferry_cli.errors import EXIT_FAILED, CliError
from metaferry_cli.output import Output

T = TypeVar("T")

_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s?)?$")
POLL_SECONDS = 1.0


def parse_duration(text: str) -> float:
    """`5m`, `90s`, `1h30m` or plain seconds, as kubectl's `--timeout` takes them."""
    match = _DURATION.match(text.strip())
    if not text.strip() or match is None or not any(match.groups()):
        raise ValueError(f"not a duration: {text!r} (e.g. 90s, 5m, 1h30m)")
    hours, minutes, seconds = match.groups()
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0)


def duration_argument(text: str) -> float:
    """parse_duration for argparse's `type=`: a bad value is a usage error naming the expected form."""
    try:
        return parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def wait_for(
    check: Callable[[], tuple[T | None, str]],
    *,
    timeout: float,
    out: Output,
    what: str,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call `check` every second until it answers a value; its second item is the progress to show."""
    deadline = clock() + timeout
    while True:
        value, progress = check()
        if value is not None:
            return value
        if clock() >= deadline:
            raise CliError(f"{what} did not happen within {timeout:g}s (last: {progress})", exit_code=EXIT_FAILED)
        out.progress(progress)
        sleep(POLL_SECONDS)
