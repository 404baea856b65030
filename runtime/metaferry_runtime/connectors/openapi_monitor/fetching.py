"""Fetching OpenAPI documents: HTTP through the SDK's conditional fetcher, files from disk.

The SDK (`sdk/http.py`) makes every HTTP fetch conditional and scopes the Secret's credentials to the
origins the user named (the endpoint's and the catalog targets'), so a `$ref` or a redirect to another
host never receives them. This module adds what is particular to OpenAPI documents: file targets, the
Accept header for JSON and YAML, and parsing either.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml

from metaferry_runtime.connectors.openapi_monitor.settings import OpenAPIMonitorSettings
from metaferry_runtime.sdk import Connection
from metaferry_runtime.sdk.http import ConditionalFetcher, Fetched, SourceUnavailable, Validators, is_http

ACCEPT = "application/json, application/yaml;q=0.9, application/x-yaml;q=0.9, text/yaml;q=0.9, */*;q=0.5"
USER_AGENT = "metaferry-openapi-monitor"
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def file_url(target: str) -> str:
    """A file target (a path or a file:// URL) as an absolute file:// URL."""
    path = unquote(urlsplit(target).path) if target.startswith("file://") else target
    return "file://" + os.path.abspath(path)


class Fetcher:
    """Documents by URL, HTTP or file; `close()` releases the HTTP client's sockets."""

    def __init__(self, *, settings: OpenAPIMonitorSettings, connection: Connection, origins: set[str]) -> None:
        self._http = ConditionalFetcher(
            connection,
            origins=origins,
            timeout_seconds=settings.timeout_seconds,
            max_megabytes=settings.max_document_megabytes,
            limit_setting="maxDocumentMegabytes",
            verify_tls=settings.verify_tls,
            ca_file=settings.ca_file,
            accept=ACCEPT,
            user_agent=USER_AGENT,
        )

    def close(self) -> None:
        self._http.close()

    def fetch(self, url: str, validators: Validators | None = None) -> Fetched:
        """The document at `url` (HTTP or file); with validators, a conditional request."""
        if is_http(url):
            return self._http.get(url, validators=validators)
        return self._http.read_file(unquote(urlsplit(url).path), url=url)

    def get_json(self, url: str) -> Any:
        """A `$ref`'d external document (jsonschema-path's handler for http and https)."""
        return parse(self.fetch(url))


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
        raise SourceUnavailable(f"{fetched.url} is neither JSON nor YAML: {reason}", status=200) from None


def as_mapping(value: Any, url: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise SourceUnavailable(f"{url} is not an OpenAPI document (its top level is not an object)")
    return value
