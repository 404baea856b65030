"""Conditional HTTP reads for connectors that catalogue documents a server serves (APIs, dashboards, ...).

One httpx client per connector (timeouts, TLS, credentials). Every fetch with validators is conditional:
the ETag and Last-Modified of the last copy read go out as If-None-Match and If-Modified-Since, so a server
that supports either answers an unchanged document with one 304 and no body; a server that supports
neither sends the body, and the caller compares `Fetched.digest` with `Validators.digest`.

Credentials come from the Secret only (`token`: a bearer token; `username` and `password`: basic auth;
`ca.crt`: the CAs to trust, as a service account token Secret holds them, unless a CA file is set) and go
only to the origins the user named, never to another host a redirect or a reference points at.
Why in the SDK: every connector that reads documents over HTTP needs exactly this, and a second copy of
the credential rule is a second place for it to go wrong.
"""

from __future__ import annotations

import functools
import hashlib
import os
import ssl
from collections.abc import Collection, Generator, Mapping
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict

from metaferry_runtime.sdk.connection import Connection
from metaferry_runtime.sdk.errors import ConnectorConfigurationError


class SourceUnavailable(Exception):
    """A document could not be fetched or read: what depends on it fails, and nothing of it is archived.
    `status` is the HTTP status when the server answered."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Validators(BaseModel):
    """What a conditional request sends back to the server, and the digest of the body they stand for."""

    model_config = ConfigDict(frozen=True)

    etag: str | None = None
    last_modified: str | None = None
    digest: str


class Fetched(BaseModel):
    """The answer to one fetch: `body` is None when the server said 304 Not Modified."""

    model_config = ConfigDict(frozen=True)

    url: str
    body: bytes | None
    etag: str | None = None
    last_modified: str | None = None
    content_type: str = ""

    @functools.cached_property
    def digest(self) -> str:
        return hashlib.sha256(self.body or b"").hexdigest()

    def validators(self) -> Validators:
        return Validators(etag=self.etag, last_modified=self.last_modified, digest=self.digest)


def origin(url: str) -> str:
    """`scheme://host[:port]`, lower-cased: the unit credentials are scoped to."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def is_http(target: str) -> bool:
    return target.startswith(("http://", "https://"))


class ConditionalFetcher:
    """One httpx client for a connector's life; `close()` releases its sockets.

    `limit_setting` names the configuration property that bounds a body's size, so a too-large document's
    message says what to raise; `refused_hint` ends the message for a 401/403."""

    def __init__(
        self,
        connection: Connection,
        *,
        origins: Collection[str],
        timeout_seconds: float,
        max_megabytes: int,
        limit_setting: str,
        verify_tls: bool = True,
        ca_file: str | None = None,
        accept: str = "application/json",
        user_agent: str = "metaferry",
        refused_hint: str = "check the Secret's token, or username and password",
    ) -> None:
        self._limit = max_megabytes * 1024 * 1024
        self._limit_setting = limit_setting
        self._refused_hint = refused_hint
        self._origins = frozenset(origins)
        self._auth = secret_auth(connection)
        verify: ssl.SSLContext | bool = verify_tls
        authority = connection.secret("ca.crt")  # a service account token Secret holds the cluster's CA
        if verify_tls and (ca_file or authority):
            verify = ssl.create_default_context(cafile=ca_file, cadata=None if ca_file else authority)
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout_seconds),
            verify=verify,
            follow_redirects=True,
            headers={"Accept": accept, "User-Agent": user_agent},
        )

    def close(self) -> None:
        self._client.close()

    def get(
        self, url: str, *, params: Mapping[str, str | int] | None = None, validators: Validators | None = None
    ) -> Fetched:
        """GET `url`; with validators, a conditional request. SourceUnavailable for anything but 200 or 304."""
        headers: dict[str, str] = {}
        if validators is not None and validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators is not None and validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        auth = self._auth if origin(url) in self._origins else None
        try:
            with self._client.stream(
                "GET", url, params=params, headers=headers, auth=auth or httpx.USE_CLIENT_DEFAULT
            ) as response:
                if response.status_code == httpx.codes.NOT_MODIFIED and validators is not None:
                    return Fetched(url=url, body=None, etag=validators.etag, last_modified=validators.last_modified)
                if response.status_code in (httpx.codes.UNAUTHORIZED, httpx.codes.FORBIDDEN):
                    raise SourceUnavailable(
                        f"{url} answered {response.status_code}: the server refused the credentials"
                        f" ({self._refused_hint})",
                        status=response.status_code,
                    )
                if response.status_code != httpx.codes.OK:
                    raise SourceUnavailable(
                        f"{url} answered {response.status_code} {response.reason_phrase}", status=response.status_code
                    )
                return Fetched(
                    url=url,
                    body=self._read_limited(response, url),
                    etag=response.headers.get("ETag"),
                    last_modified=response.headers.get("Last-Modified"),
                    content_type=response.headers.get("Content-Type", ""),
                )
        except httpx.TimeoutException:
            raise SourceUnavailable(f"{url} did not answer within the timeout") from None
        except httpx.HTTPError as error:
            raise SourceUnavailable(f"cannot fetch {url}: {type(error).__name__}: {error}") from None

    def read_file(self, path: str, *, url: str | None = None) -> Fetched:
        """A local file, under the same size limit; `url` names it in the answer (default `file://path`)."""
        try:
            if os.path.getsize(path) > self._limit:
                raise SourceUnavailable(f"{path} is larger than {self._limit_setting}")
            with open(path, "rb") as file:
                return Fetched(url=url or "file://" + path, body=file.read())
        except OSError as error:
            raise SourceUnavailable(f"cannot read {path}: {error.strerror or error}") from None

    def _read_limited(self, response: httpx.Response, url: str) -> bytes:
        declared = response.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > self._limit:
            raise SourceUnavailable(f"{url} is larger than {self._limit_setting} ({declared} bytes)")
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self._limit:
                raise SourceUnavailable(f"{url} is larger than {self._limit_setting}")
            chunks.append(chunk)
        return b"".join(chunks)


def secret_auth(connection: Connection) -> httpx.Auth | None:
    """Bearer or basic auth from the Secret; a Secret that holds both, or half of basic auth, is an error."""
    token = connection.secret("token")
    username, password = connection.secret("username"), connection.secret("password")
    if token is not None and (username is not None or password is not None):
        raise ConnectorConfigurationError("the Secret holds both token and username/password: keep one of them")
    if token is not None:
        return _BearerAuth(token)
    if username is not None and password is not None:
        return httpx.BasicAuth(username, password)
    if username is not None or password is not None:
        raise ConnectorConfigurationError("basic auth needs both username and password in the Secret")
    return None


class _BearerAuth(httpx.Auth):
    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request
