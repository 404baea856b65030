"""The secret masker: every known secret value becomes `****` in any text the runtime lets out.

A secret is masked where it stands as a value, never inside a longer word: a secret edge that is a word
character must meet a non-word character (or the end of the text), so the secret `tokens` leaves `tokenstore`
alone while `token=tokens;` and `postgresql://u:tokens@h` are masked. Secrets are matched literally (regex
metacharacters in them mean nothing) and also in the encodings they travel in: percent-encoded in URLs and
escaped inside JSON strings. Secrets shorter than `MIN_SECRET_LENGTH` are refused: they would either stay
visible or, masked, hide ordinary words.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "****"
MIN_SECRET_LENGTH = 6
_WORD = re.compile(r"\w")


class SecretTooShort(ValueError):
    """A secret value too short to be masked as a whole value."""


def check_secret_length(secret: str, *, name: str = "a secret") -> None:
    """Refuse a non-empty secret shorter than `MIN_SECRET_LENGTH`; `name` says which one in the error."""
    if 0 < len(secret) < MIN_SECRET_LENGTH:
        raise SecretTooShort(
            f"{name} is {len(secret)} characters long; secrets must have at least {MIN_SECRET_LENGTH} characters"
            " so they can be masked as whole values without masking ordinary words"
        )


def _encodings(secret: str) -> set[str]:
    """The forms in which a secret appears in output: as is, percent-encoded, and JSON-escaped (with and
    without non-ASCII characters escaped, as `json.dumps` writes them by default and with ensure_ascii off)."""
    return {
        secret,
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
    }


def _whole_value(form: str) -> str:
    """A pattern for `form` that does not match inside a longer word."""
    before = r"(?<!\w)" if _WORD.match(form[0]) else ""
    after = r"(?!\w)" if _WORD.match(form[-1]) else ""
    return f"{before}{re.escape(form)}{after}"


class SecretMasker:
    """Replaces every known secret value in text with `****`; shared by the audit log, the report, the API and
    the log handlers, so a secret added once (e.g. the API token) is masked everywhere."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: frozenset[str] = frozenset()
        self._pattern: re.Pattern[str] | None = None
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Add secret values; raises SecretTooShort (adding none of them) if one is too short to mask."""
        new = {secret for secret in secrets if secret}
        for secret in new:
            check_secret_length(secret)
        with self._lock:
            known = self._secrets | new
            forms = {form for secret in known for form in _encodings(secret)}
            # Longest first, so a secret containing another is masked whole.
            ordered = sorted(forms, key=lambda form: (-len(form), form))
            self._pattern = re.compile("|".join(map(_whole_value, ordered))) if ordered else None
            self._secrets = known

    def mask(self, text: str) -> str:
        pattern = self._pattern
        return pattern.sub(MASK, text) if pattern is not None else text
