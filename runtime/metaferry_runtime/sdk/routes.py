"""Routes a connector adds to the runtime's HTTP API (the search indexer's `GET /search`).

A connector returns them from `IntegrationConnector.api_routes()`. Why through the runtime's API and not a
server of the connector's own: the pod already serves that port, the Service and NetworkPolicy already open
it, and the operator already knows the token. The runtime looks the routes up on each request in the
connector instance running now, so a restarted connector serves its new instance's routes, and a connector
that is not running answers 503 rather than stale results. A handler is ordinary blocking Python: the
runtime calls it on a worker thread, never on its event loop, so a slow query cannot stall the probes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ApiRequest:
    """What a handler gets: the query string's parameters (the last value of a repeated one)."""

    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ApiResponse:
    """A JSON response: `body` is serialised with `json.dumps`."""

    body: Any
    status: int = 200


class ApiError(Exception):
    """Raised by a handler to answer with an RFC 9457 problem document: bad input (400) and the like."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class ApiRoute:
    """One path of the runtime's API served by the connector. `requires_token`: the caller must present the
    runtime's bearer token, as for the API's mutating calls; otherwise the route is open like `/status`."""

    method: str
    path: str
    handler: Callable[[ApiRequest], ApiResponse]
    requires_token: bool = False
