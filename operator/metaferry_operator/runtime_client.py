"""The operator's client for the connector runtime's HTTP API (httpx, async).

Each connector has a client of its own (:meth:`RuntimeClient.open`), with a pool of a few connections to
its one runtime and explicit connect/read/write/pool timeouts: a runtime that hangs or answers 500 costs
its own connector's task at most one timeout and never holds a connection another connector needs. One
pool shared by every runtime would also cost CPU in proportion to its size: httpcore re-examines every
pooled connection whenever a request starts or ends (measured with 20 runtimes: 1.2-1.3 ms of CPU per
call shared, 0.8-0.9 ms with a pool per runtime; the gap grows with the number of runtimes).
Runtimes are addressed by pod IP (from the Pod's status), never by cluster DNS, which some clusters and
the test pod runner do not have. Failures come back as :class:`RuntimeUnavailable` with a message fit
for a condition; the bearer token is never part of one.
"""

from __future__ import annotations

import dataclasses
import functools
import ssl
from typing import TypeVar
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from metaferry_operator import naming
from metaferry_runtime.report import ConnectorReport, RefreshAccepted, RefreshRequestOutcome, RestartAccepted

_Answer = TypeVar("_Answer", ConnectorReport, RefreshAccepted, RefreshRequestOutcome, RestartAccepted)


class RuntimeUnavailable(Exception):
    """The runtime could not be reached, timed out, or answered with an error or an unreadable body."""


class RuntimeRefused(Exception):
    """The runtime understood the request and refused it (409: shutting down, invalid configuration)."""


@dataclasses.dataclass(frozen=True)
class RuntimeAddress:
    pod_ip: str
    port: int = naming.RUNTIME_PORT

    @property
    def base_url(self) -> str:
        host = f"[{self.pod_ip}]" if ":" in self.pod_ip else self.pod_ip
        return f"http://{host}:{self.port}"


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One verifying context for every client: the runtime API is plain HTTP, but httpx would otherwise
    load the CA bundle for each client it makes (tens of milliseconds, per connector)."""
    return ssl.create_default_context()


def new_http_client(*, timeout: float, max_connections: int = 4) -> httpx.AsyncClient:
    """A pool for one runtime; ``trust_env=False`` so a proxy variable never routes pod-IP traffic elsewhere."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0), pool=timeout),
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=2),
        verify=_tls_context(),
        trust_env=False,
        follow_redirects=False,
    )


class RuntimeClient:
    """Calls to one connector's runtime; stateless apart from its connection pool."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    @classmethod
    def open(cls, *, timeout: float) -> RuntimeClient:
        return cls(new_http_client(timeout=timeout))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def status(self, address: RuntimeAddress) -> ConnectorReport:
        response = await self._call("GET", address, "/status")
        assert response is not None
        return _parse(ConnectorReport, response)

    async def refresh(
        self, address: RuntimeAddress, *, token: str, request_id: str, confirm_archive: bool = False
    ) -> RefreshAccepted:
        """Ask for one refresh; the runtime answers the same ``request_id`` twice with the same refresh. With
        ``confirm_archive`` that refresh archives what the deletion fail-safe refused, once."""
        body: dict[str, object] = {"requestId": request_id}
        if confirm_archive:
            body["confirmArchive"] = True
        response = await self._call("POST", address, "/refresh", token=token, body=body)
        assert response is not None
        return _parse(RefreshAccepted, response)

    async def refresh_request(
        self, address: RuntimeAddress, *, request_id: str, wait: float = 0.0
    ) -> RefreshRequestOutcome | None:
        """Where the refresh ``request_id`` joined stands; with ``wait`` the runtime holds the answer until that
        refresh ends or ``wait`` seconds pass. None: the runtime has no record of it (a new pod, or forgotten)."""
        path = f"/refresh-requests/{quote(request_id, safe='')}?wait={wait:g}"
        response = await self._call("GET", address, path, read_timeout=wait, missing_ok=True)
        return None if response is None else _parse(RefreshRequestOutcome, response)

    async def restart(self, address: RuntimeAddress, *, token: str) -> RestartAccepted:
        response = await self._call("POST", address, "/restart", token=token)
        assert response is not None
        return _parse(RestartAccepted, response)

    async def _call(
        self,
        method: str,
        address: RuntimeAddress,
        path: str,
        *,
        token: str | None = None,
        body: dict[str, object] | None = None,
        read_timeout: float = 0.0,
        missing_ok: bool = False,
    ) -> httpx.Response | None:
        """One call; ``read_timeout`` is added to the client's own (a held answer); with ``missing_ok`` a 404
        is None rather than an error."""
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        base = self._http.timeout
        read = (base.read or 5.0) + read_timeout
        timeout = httpx.Timeout(read, connect=base.connect, write=base.write, pool=base.pool)
        try:
            response = await self._http.request(
                method, address.base_url + path, headers=headers, json=body, timeout=timeout
            )
        except httpx.TimeoutException as error:
            raise RuntimeUnavailable(f"{method} {path} timed out ({type(error).__name__})") from error
        except httpx.HTTPError as error:
            raise RuntimeUnavailable(f"{method} {path} failed: {type(error).__name__}: {error}") from error
        if missing_ok and response.status_code == 404:
            return None
        if response.status_code == 409:
            raise RuntimeRefused(_detail(response))
        if response.status_code >= 300:
            raise RuntimeUnavailable(f"{method} {path} answered {response.status_code}: {_detail(response)}")
        return response


def _detail(response: httpx.Response) -> str:
    """The problem document's ``detail``, else the start of the body."""
    try:
        payload = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(payload, dict) and isinstance(payload.get("detail"), str):
        return str(payload["detail"])[:500]
    return response.text[:200]


def _parse(model: type[_Answer], response: httpx.Response) -> _Answer:
    try:
        return model.model_validate_json(response.content)
    except ValidationError as error:
        raise RuntimeUnavailable(f"unreadable answer from the runtime: {error.errors()[0]['msg']}") from error
