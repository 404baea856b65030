"""The OPA REST API calls the publisher makes (httpx, a timeout on each), with errors a user can act on.

`PUT /v1/data/<path>` replaces the whole document; `PATCH /v1/data/<path>` applies JSON-patch operations
in one OPA transaction. The bearer token goes in the Authorization header only: no error message, log
record or exception here names it (httpx's own errors name the URL, which holds no secret).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx

from metaferry_runtime.sdk import ConnectorConfigurationError, ConnectorError


class DocumentMissing(ConnectorError):
    """OPA has no document at the path (it restarted, or someone deleted it): a patch cannot apply."""


class OpaServer:
    """One OPA server's data API at `base_url`, the document at `document_path`."""

    def __init__(
        self,
        *,
        base_url: str,
        document_path: str,
        token: str | None,
        connect_timeout: float,
        request_timeout: float,
        verify: bool | str = True,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConnectorConfigurationError(
                f"the endpoint {base_url!r} is not an OPA server address: give http(s)://host:port"
            )
        if parts.username or parts.password:
            raise ConnectorConfigurationError(
                "the endpoint holds credentials: put the bearer token in the Secret named by secretRef instead"
            )
        self.address = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        self.document_path = document_path
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.Client(
            base_url=self.address,
            headers=headers,
            timeout=httpx.Timeout(request_timeout, connect=connect_timeout),
            verify=verify,
        )

    def close(self) -> None:
        self._client.close()

    def health(self) -> None:
        """OPA answers and accepts the token (`GET /health`, which the authorization policy also guards)."""
        self._check(self._send("GET", "/health"), "the health check")

    def read_document(self) -> Any:
        """The document OPA holds now (None when it has none)."""
        response = self._send("GET", self._data_url)
        self._check(response, "reading the document")
        return response.json().get("result")

    def put_document(self, document: Any) -> None:
        """Replace the document whole."""
        self._check(self._send("PUT", self._data_url, json=document), "publishing the document")

    def patch_document(self, operations: list[dict[str, Any]]) -> None:
        """Apply JSON-patch operations to the document, all or none; DocumentMissing when it is not there."""
        response = self._send(
            "PATCH", self._data_url, json=operations, headers={"Content-Type": "application/json-patch+json"}
        )
        if response.status_code == 404:
            raise DocumentMissing(f"OPA at {self.address} has no document at {self.document_path}")
        self._check(response, "patching the document")

    @property
    def _data_url(self) -> str:
        return f"/v1/data/{self.document_path}"

    def _send(self, method: str, url: str, **arguments: Any) -> httpx.Response:
        try:
            return self._client.request(method, url, **arguments)
        except httpx.TimeoutException:
            raise ConnectorError(f"OPA at {self.address} did not answer {method} {url} in time") from None
        except httpx.HTTPError as error:
            raise ConnectorError(f"cannot reach OPA at {self.address}: {error}") from None

    def _check(self, response: httpx.Response, what: str) -> None:
        if response.is_success:
            return
        reason = _reason(response)
        if response.status_code == 401:
            raise ConnectorConfigurationError(
                f"OPA at {self.address} refused the bearer token ({reason}) while {what}:"
                " check the token in the Secret named by secretRef"
            )
        if response.status_code == 403:
            raise ConnectorConfigurationError(
                f"OPA at {self.address} does not let this token do {what} ({reason}):"
                " allow it in OPA's system.authz policy"
            )
        raise ConnectorError(f"OPA at {self.address} failed {what}: HTTP {response.status_code} {reason}")


def _reason(response: httpx.Response) -> str:
    """OPA's error message (`{"code": ..., "message": ...}`), or the status phrase."""
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])[:300]
    return response.reason_phrase
