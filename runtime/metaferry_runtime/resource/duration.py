"""Durations as Kubernetes users write them: Go's `time.ParseDuration` subset (`45s`, `10m`, `1h30m`, `0`).

Egeria's refresh interval was minutes in some documents and seconds in others; a unit on every value ends
that confusion. The same grammar is enforced by the CRD (a CEL `duration()` check) and here, so a manifest
that the API server accepts is one the runtime accepts, and the other way round.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
DURATION_PATTERN = r"^(0|([0-9]+(\.[0-9]+)?(ms|s|m|h))+)$"


def parse_duration(text: str) -> timedelta:
    """Parse `1h30m`-style text; raise ValueError with the accepted forms on anything else."""
    value = text.strip()
    if value == "0":
        return timedelta(0)
    position, total = 0, 0.0
    for match in _PART.finditer(value):
        if match.start() != position:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    if position != len(value) or not value:
        raise ValueError(
            f"{text!r} is not a duration: use a number with a unit ms, s, m or h, such as 45s, 10m, 1h or 1h30m"
        )
    return timedelta(seconds=total)


def format_duration(delta: timedelta) -> str:
    """Render the shortest Go-style text for a duration (`90s` -> `1m30s`, zero -> `0`)."""
    millis = round(delta.total_seconds() * 1000)
    if millis == 0:
        return "0"
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    seconds, millis = divmod(millis, 1000)
    text = ""
    if hours:
        text += f"{hours}h"
    if minutes:
        text += f"{minutes}m"
    if seconds or millis:
        text += f"{seconds}.{millis:03d}".rstrip("0").rstrip(".") + "s" if millis else f"{seconds}s"
    return text


def _coerce(value: object) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, str):
        return parse_duration(value)
    raise ValueError("a duration must be a string such as 45s, 10m or 1h")


Duration = Annotated[
    timedelta,
    BeforeValidator(_coerce),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema({"type": "string", "pattern": DURATION_PATTERN}),
]
"""A `timedelta` that reads and writes Go-style duration text."""
