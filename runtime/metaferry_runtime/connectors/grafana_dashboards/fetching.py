"""Fetching from Grafana's HTTP API and from dashboard files: one httpx client (timeouts, TLS, credentials).

Credentials come from the Secret only (`token`: a service account token or API key, sent as a bearer
token; `username` and `password`: basic auth; `ca.crt`: the CAs to trust unless `caFile` is set), and go
only to the Grafana the target names, never to a host a redirect points at. A dashboard fetch is
conditional when the last answer had an ETag or Last-Modified (a proxy in front of Grafana may add them);
otherwise the body's digest tells an unchanged dashboard.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import ssl
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict

from metaferry_runtime.connectors.grafana_dashboards.settings import GrafanaDashboardsSettings
from metaferry_runtime.sdk import Connection, ConnectorConfigurationError

USER_AGENT = "metaferry-grafana-dashboards"


class Unavailable(Exception):
    """A listing or a dashboard could not be fetched or parsed; `status` is the HTTP status, if any."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Validators(BaseModel):
    """What a conditional request sends back, and the digest of the body they stand for."""

    model_config = ConfigDict(frozen=True)

    etag: str | None = None
    last_modified: str | None = None
    digest: str


class Fetched(BaseModel):
    """One answer: `body` is None when the server said 304 Not Modified."""

    model_config = ConfigDict(frozen=True)

    url: str
    body: bytes | None
    etag: str | None = None
    last_modified: str | None = None

    @functools.cached_property
    def digest(self) -> str:
        return hashlib.sha256(self.body or b"").hexdigest()

    def validators(self) -> Validators:
        return Validators(etag=self.etag, last_modified=self.last_modified, digest=self.digest)

    def parsed(self) -> Any:
        try:
            return json.loads(self.body or b"")
        except ValueError as error:
            raise Unavailable(f"{self.url} is not JSON: {' '.join(str(error).split())[:160]}", status=200) from None


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def is_http(target: str) -> bool:
    return target.startswith(("http://", "https://"))


class Fetcher:
    """One httpx client for a connector's life; `close()` releases its sockets."""

    def __init__(self, *, settings: GrafanaDashboardsSettings, connection: Connection, origins: set[str]) -> None:
        self._limit = settings.max_dashboard_megabytes * 1024 * 1024
        self._origins = origins
        self._auth = _auth(connection)
        verify: ssl.SSLContext | bool = settings.verify_tls
        authority = connection.secret("ca.crt")
        if settings.verify_tls and (settings.ca_file or authority):
            verify = ssl.create_default_context(cafile=settings.ca_file, cadata=None if settings.ca_file else authority)
        self._client = httpx.Client(
            timeout=httpx.Timeout(settings.timeout_seconds),
            verify=verify,
            follow_redirects=True,
            headers={"Accept": "application/json", "User-Agent": USER_AGENT},
        )

    def close(self) -> None:
        self._client.close()

    def get(
        self, url: str, *, params: dict[str, str | int] | None = None, validators: Validators | None = None
    ) -> Fetched:
        """GET `url`; with validators, a conditional request. Credentials go only to the named origins."""
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
                    raise Unavailable(
                        f"{url} answered {response.status_code}: Grafana refused the credentials"
                        " (check the Secret's token, or username and password, and its permissions)",
                        status=response.status_code,
                    )
                if response.status_code != httpx.codes.OK:
                    raise Unavailable(
                        f"{url} answered {response.status_code} {response.reason_phrase}", status=response.status_code
                    )
                return Fetched(
                    url=url,
                    body=self._read_limited(response, url),
                    etag=response.headers.get("ETag"),
                    last_modified=response.headers.get("Last-Modified"),
                )
        except httpx.TimeoutException:
            raise Unavailable(f"{url} did not answer within the timeout") from None
        except httpx.HTTPError as error:
            raise Unavailable(f"cannot fetch {url}: {type(error).__name__}: {error}") from None

    def read_file(self, path: str) -> Fetched:
        try:
            if os.path.getsize(path) > self._limit:
                raise Unavailable(f"{path} is larger than maxDashboardMegabytes")
            with open(path, "rb") as file:
                return Fetched(url="file://" + path, body=file.read())
        except OSError as error:
            raise Unavailable(f"cannot read {path}: {error.strerror or error}") from None

    def _read_limited(self, response: httpx.Response, url: str) -> bytes:
        declared = response.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > self._limit:
            raise Unavailable(f"{url} is larger than maxDashboardMegabytes ({declared} bytes)")
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self._limit:
                raise Unavailable(f"{url} is larger than maxDashboardMegabytes")
            chunks.append(chunk)
        return b"".join(chunks)


def _auth(connection: Connection) -> httpx.Auth | None:
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

    def auth_flow(self, request: httpx.Request) -> Any:
        request.headers["Authorization"] = self._header
        yield request
