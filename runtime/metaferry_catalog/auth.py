"""Who may read: a bearer token, judged by an `Authenticator` (a token file here, Kubernetes in `kubeauth`).

In standalone mode the file holds one token a line (blank lines and `#` comments ignored). Tokens are
compared in constant time and never logged, echoed or kept in an error message. Query-string tokens are
not accepted: access logs and proxies record URLs.
"""

from __future__ import annotations

import hmac
from enum import Enum
from pathlib import Path
from typing import Protocol


class Verdict(Enum):
    ALLOWED = 200
    UNAUTHENTICATED = 401  # no token, or one nobody issued
    FORBIDDEN = 403  # a known reader the catalogue's access rule does not admit
    UNAVAILABLE = 503  # the judge (the API server) could not be asked


class Authenticator(Protocol):
    async def verdict(self, authorization: str | None) -> Verdict:
        """Judge an `Authorization` header; implementations never log or keep the token itself."""
        ...


def bearer_token(authorization: str | None) -> str | None:
    """The token of `Bearer <token>` (scheme case-insensitive), else None."""
    if authorization is None:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


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
        token = bearer_token(authorization)
        if token is None:
            return False
        given = token.encode()
        matches = [hmac.compare_digest(given, t) for t in self._tokens]
        return any(matches)

    async def verdict(self, authorization: str | None) -> Verdict:
        return Verdict.ALLOWED if self.allows(authorization) else Verdict.UNAUTHENTICATED
