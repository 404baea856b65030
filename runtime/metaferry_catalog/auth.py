"""Who may read: in standalone mode, bearer tokens listed in a file.

The file holds one token a line (blank lines and `#` comments ignored). Tokens are compared in constant
time and never logged, echoed or kept in an error message. Query-string tokens are not accepted: access
logs and proxies record URLs.
"""

from __future__ import annotations

import hmac
from pathlib import Path


class TokenFileError(Exception):
    pass


class StaticTokens:
    def __init__(self, tokens: list[str]) -> None:
        if not tokens:
            raise TokenFileError("the token file lists no token: nobody could read the catalogue")
        self._tokens = [t.encode() for t in tokens]

    @classmethod
    def from_file(cls, path: Path) -> StaticTokens:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise TokenFileError(f"cannot read the token file {path}: {error.strerror}") from None
        lines = (line.strip() for line in text.splitlines())
        return cls([line for line in lines if line and not line.startswith("#")])

    def allows(self, authorization: str | None) -> bool:
        """True for `Bearer <a listed token>`; every token is compared, so timing does not tell which."""
        if authorization is None:
            return False
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return False
        given = token.strip().encode()
        matches = [hmac.compare_digest(given, t) for t in self._tokens]
        return any(matches)
