"""Reading the artifacts from a path or an http(s) URL (one httpx client, a timeout, an optional bearer token).

A missing or unreadable manifest raises `ArtifactUnavailable`, so the refresh fails and nothing is archived;
a missing catalog is None unless the settings require it.
"""

from __future__ import annotations

import os
from urllib.parse import unquote, urljoin, urlsplit

import httpx

from metaferry_runtime.sdk import ConnectorError

MANIFEST = "manifest.json"
CATALOG = "catalog.json"


class ArtifactUnavailable(ConnectorError):
    """The manifest (or a required catalog) could not be read: the refresh fails and nothing is archived."""


def is_http(location: str) -> bool:
    return location.startswith(("http://", "https://"))


def manifest_location(endpoint: str) -> str:
    """The manifest an endpoint names: the file itself, or `manifest.json` in a directory (a URL ending in /)."""
    if is_http(endpoint):
        return urljoin(endpoint, MANIFEST) if endpoint.endswith("/") else endpoint
    path = unquote(urlsplit(endpoint).path) if endpoint.startswith("file:") else endpoint
    path = os.path.abspath(os.path.expanduser(path))
    return os.path.join(path, MANIFEST) if os.path.isdir(path) else path


def catalog_location(manifest: str) -> str:
    """`catalog.json` beside the manifest."""
    if is_http(manifest):
        return urljoin(manifest, CATALOG)
    return os.path.join(os.path.dirname(manifest), CATALOG)


class ArtifactReader:
    """Reads artifact bytes; one HTTP client for the connector's life."""

    def __init__(self, *, timeout: float, verify: bool, token: str | None) -> None:
        headers = {"Accept": "application/json", "User-Agent": "metaferry-dbt-project"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._client: httpx.Client | None = None
        self._options = {"timeout": timeout, "verify": verify, "headers": headers, "follow_redirects": True}

    def read(self, location: str, *, missing_ok: bool = False) -> bytes | None:
        if is_http(location):
            return self._fetch(location, missing_ok=missing_ok)
        try:
            with open(location, "rb") as file:
                return file.read()
        except FileNotFoundError:
            if missing_ok:
                return None
            raise ArtifactUnavailable(f"{location} does not exist: run `dbt build` (or `dbt compile`) first") from None
        except OSError as error:
            raise ArtifactUnavailable(f"cannot read {location}: {error.strerror}") from None

    def _fetch(self, url: str, *, missing_ok: bool) -> bytes | None:
        if self._client is None:
            self._client = httpx.Client(**self._options)  # type: ignore[arg-type]
        try:
            response = self._client.get(url)
        except httpx.HTTPError as error:
            raise ArtifactUnavailable(f"cannot fetch {url}: {error}") from None
        if response.status_code == 404 and missing_ok:
            return None
        if response.status_code != 200:
            raise ArtifactUnavailable(f"cannot fetch {url}: HTTP {response.status_code}")
        return response.content

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
