"""Who may read and who may curate: a bearer token, judged by an `Authenticator` (a token file here,
Kubernetes in `kubeauth`) for an `Action`. The judgement names the token's user, who is the curator of
what that token writes.

In standalone mode the file holds one token a line (blank lines and `#` comments ignored), optionally
followed by `user=NAME` (the curator name its writes are recorded under) and `curator` (it may curate;
without it the token only reads):

    reader-token-1
    steward-token-2 user=alice curator

A line of just a token, the format before curation, is a read-only token as it always was. A token
without `user=` is named `token:` and the first hex digits of its SHA-256: a name that tells tokens
apart in the curation record without giving away any of the token. Tokens are compared in constant time
and never logged, echoed or kept in an error message (a bad line is named by its number). Query-string
tokens are not accepted: access logs and proxies record URLs.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Protocol


class Verdict(Enum):
    ALLOWED = 200
    UNAUTHENTICATED = 401  # no token, or one nobody issued
    FORBIDDEN = 403  # a known user the catalogue's access rule does not admit to the action
    UNAVAILABLE = 503  # the judge (the API server) could not be asked


class Action(Enum):
    """What a request does; the value completes "this token's user may not ..."."""

    READ = "read the catalogue"
    CURATE = "curate the catalogue"


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    user: str | None = None  # who the token belongs to, once it is authenticated


class Authenticator(Protocol):
    async def judge(self, authorization: str | None, action: Action) -> Judgement:
        """Judge an `Authorization` header for an action; implementations never log or keep the token."""
        ...


def bearer_token(authorization: str | None) -> str | None:
    """The token of `Bearer <token>` (scheme case-insensitive), else None."""
    if authorization is None:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def token_user(token: str) -> str:
    """The default user name of a token: stable, distinct per token, and no part of the token itself."""
    return "token:" + hashlib.sha256(token.encode()).hexdigest()[:8]


class TokenFileError(Exception):
    pass


@dataclass(frozen=True)
class Holder:
    """One token and what its holder may do."""

    token: str = field(repr=False)
    user: str = ""  # empty: token_user(token)
    curator: bool = False

    @property
    def name(self) -> str:
        return self.user or token_user(self.token)


def parse_line(line: str, number: int) -> Holder:
    """`TOKEN [user=NAME] [curator]`; TokenFileError naming the line by number, never by its token."""
    token, *words = line.split()
    user, curator = "", False
    for word in words:
        if word == "curator" and not curator:
            curator = True
        elif word.startswith("user=") and not user and len(word) > len("user="):
            user = word.removeprefix("user=")
        else:
            raise TokenFileError(
                f"line {number} of the token file: after the token only `user=NAME` and `curator` may follow, each once"
            )
    return Holder(token, user, curator)


class StaticTokens:
    def __init__(self, tokens: Iterable[str | Holder]) -> None:
        holders = [t if isinstance(t, Holder) else Holder(t) for t in tokens]
        if not holders:
            raise TokenFileError("the token file lists no token: nobody could read the catalogue")
        self._holders = holders
        self._tokens = [h.token.encode() for h in holders]

    @classmethod
    def from_file(cls, path: Path) -> StaticTokens:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise TokenFileError(f"cannot read the token file {path}: {error.strerror}") from None
        lines = ((number, line.strip()) for number, line in enumerate(text.splitlines(), start=1))
        return cls([parse_line(line, number) for number, line in lines if line and not line.startswith("#")])

    def holder(self, authorization: str | None) -> Holder | None:
        """The holder of `Bearer <a listed token>`; every token is compared, so timing does not tell which."""
        token = bearer_token(authorization)
        if token is None:
            return None
        given = token.encode()
        matches = [hmac.compare_digest(given, t) for t in self._tokens]
        return next((h for h, matched in zip(self._holders, matches, strict=True) if matched), None)

    def allows(self, authorization: str | None) -> bool:
        return self.holder(authorization) is not None

    async def judge(self, authorization: str | None, action: Action) -> Judgement:
        holder = self.holder(authorization)
        if holder is None:
            return Judgement(Verdict.UNAUTHENTICATED)
        admitted = action is Action.READ or holder.curator
        return Judgement(Verdict.ALLOWED if admitted else Verdict.FORBIDDEN, holder.name)
