"""Fetching documents: HTTP through one httpx client (timeouts, TLS, credentials), files from disk.

Every HTTP fetch is conditional: the ETag and Last-Modified of the last copy read go out as If-None-Match
and If-Modified-Since, so a server that supports either answers an unchanged document with one 304 and
no body. A server that supports neither sends the body, and the caller compares its digest.

Credentials come from the Secret only (`token`: a bearer token; `username` and `password`: basic auth;
`ca.crt`: the CAs to trust, as a service account token Secret holds them, unless `caFile` is set)
and go only to the origins the user named (the endpoint's and the catalog targets'), never to another
host a `$ref` or a redirect points at.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import ssl
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import yaml
from pydantic import BaseModel, ConfigDict

from metaferry_runtime.connectors.openapi_monitor.settings import OpenAPIMonitorSettings
from metaferry_runtime.sdk import Connection, ConnectorConfigurationError

ACCEPT = "application/json, application/yaml;q=0.9, application/x-yaml;q=0.9, text/yaml;q=0.9, */*;q=0.5"
USER_AGENT = "metaferry-openapi-monitor"
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class TargetUnavailable(Exception):
    """A document or index could not be fetched or parsed: that target fails, nothing of it is archived.
    `status` is the HTTP status when the server answered (and did not refuse the credentials)."""

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
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def is_http(target: str) -> bool:
    return target.startswith(("http://", "https://"))


def file_url(target: str) -> str:
    """A file target (a path or a file:// URL) as an absolute file:// URL."""
    path = unquote(urlsplit(target).path) if target.startswith("file://") else target
    return "file://" + os.path.abspath(path)


class Fetcher:
    """One httpx client for a connector's life; `close()` releases its sockets."""

    def __init__(self, *, settings: OpenAPIMonitorSettings, connection: Connection, origins: set[str]) -> None:
        self._limit = settings.max_document_megabytes * 1024 * 1024
        self._origins = origins
        self._auth = _auth(connection)
        verify: ssl.SSLContext | bool = settings.verify_tls
        authority = connection.secret("ca.crt")  # a service account token Secret holds the cluster's CA
        if settings.verify_tls and (settings.ca_file or authority):
            verify = ssl.create_default_context(cafile=settings.ca_file, cadata=None if settings.ca_file else authority)
        self._client = httpx.Client(
            timeout=httpx.Timeout(settings.timeout_seconds),
            verify=verify,
            follow_redirects=True,
            headers={"Accept": ACCEPT, "User-Agent": USER_AGENT},
        )

    def close(self) -> None:
        self._client.close()

    def fetch(self, url: str, validators: Validators | None = None) -> Fetched:
        """The document at `url` (HTTP or file); with validators, a conditional request."""
        if not is_http(url):
            return self._read_file(url)
        headers: dict[str, str] = {}
        if validators is not None:
            if validators.etag:
                headers["If-None-Match"] = validators.etag
            if validators.last_modified:
                headers["If-Modified-Since"] = validators.last_modified
        auth = self._auth if origin(url) in self._origins else None
        try:
            with self._client.stream("GET", url, headers=headers, auth=auth or httpx.USE_CLIENT_DEFAULT) as response:
                if response.status_code == httpx.codes.NOT_MODIFIED and validators is not None:
                    return Fetched(url=url, body=None, etag=validators.etag, last_modified=validators.last_modified)
                if response.status_code in (httpx.codes.UNAUTHORIZED, httpx.codes.FORBIDDEN):
                    raise TargetUnavailable(
                        f"{url} answered {response.status_code}: the server refused the credentials"
                        " (check the Secret's token, or username and password)",
                        status=response.status_code,
                    )
                if response.status_code != httpx.codes.OK:
                    raise TargetUnavailable(
                        f"{url} answered {response.status_code} {response.reason_phrase}", status=response.status_code
                    )
                body = self._read_limited(response, url)
                return Fetched(
                    url=url,
                    body=body,
                    etag=response.headers.get("ETag"),
                    last_modified=response.headers.get("Last-Modified"),
                    content_type=response.headers.get("Content-Type", ""),
                )
        except httpx.TimeoutException:
            raise TargetUnavailable(f"{url} did not answer within the timeout") from None
        except httpx.HTTPError as error:
            raise TargetUnavailable(f"cannot fetch {url}: {type(error).__name__}: {error}") from None

    def get_json(self, url: str) -> Any:
        """A `$ref`'d external document (jsonschema-path's handler for http and https)."""
        fetched = self.fetch(url)
        return parse(fetched)

    def _read_limited(self, response: httpx.Response, url: str) -> bytes:
        declared = response.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > self._limit:
            raise TargetUnavailable(f"{url} is larger than maxDocumentMegabytes ({declared} bytes)")
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self._limit:
                raise TargetUnavailable(f"{url} is larger than maxDocumentMegabytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def _read_file(self, url: str) -> Fetched:
        path = unquote(urlsplit(url).path)
        try:
            if os.path.getsize(path) > self._limit:
                raise TargetUnavailable(f"{path} is larger than maxDocumentMegabytes")
            with open(path, "rb") as file:
                return Fetched(url=url, body=file.read())
        except OSError as error:
            raise TargetUnavailable(f"cannot read {path}: {error.strerror or error}") from None


def parse(fetched: Fetched) -> Any:
    """The body as JSON or YAML: JSON when it looks so, whatever the Content-Type says (servers label YAML as
    JSON and the reverse); YAML otherwise, a superset of JSON, but slower."""
    body = fetched.body or b""
    try:
        if body.lstrip()[:1] in (b"{", b"["):
            return json.loads(body)
        return yaml.load(body, Loader=_YAML_LOADER)
    except (ValueError, yaml.YAMLError) as error:
        reason = " ".join(str(error).split())[:200]
        raise TargetUnavailable(f"{fetched.url} is neither JSON nor YAML: {reason}", status=200) from None


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


def as_mapping(value: Any, url: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise TargetUnavailable(f"{url} is not an OpenAPI document (its top level is not an object)")
    return value
