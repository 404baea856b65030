"""HTTP API of one runtime: what the operator, probes, Prometheus and people call.

Reads are open (`/healthz`, `/readyz`, `/status`, `/metrics`, `/audit`, `/refresh-requests/...`): they
reveal nothing secret, since the report and audit records are masked at their source. Mutating calls
(`POST /refresh`, `POST /restart`) need the bearer token the operator puts in the connector's Secret;
without a configured token they are refused, never open.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
from pathlib import Path

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import ValidationError

from metaferry_runtime.audit import RuntimeMessages, check_secret_length
from metaferry_runtime.lifecycle import ConnectorRuntime
from metaferry_runtime.lifecycle.engine import RefreshRefused, RestartRefused
from metaferry_runtime.lifecycle.requests import MAX_WAIT_SECONDS
from metaferry_runtime.report import RestartAccepted
from metaferry_runtime.resource.base import KubeModel
from metaferry_runtime.sdk import ApiError, ApiRequest

API_TOKEN_ENV = "METAFERRY_API_TOKEN"
API_TOKEN_FILE_ENV = "METAFERRY_API_TOKEN_FILE"
MAX_BODY_BYTES = 16 * 1024

log = logging.getLogger(__name__)


class RefreshRequest(KubeModel):
    """Optional body of `POST /refresh`: a request id makes the call idempotent (the annotation's value);
    `confirmArchive` lets that refresh archive past the deletion fail-safe, once."""

    request_id: str | None = None
    confirm_archive: bool = False


def load_api_token(token_file: str | None = None) -> str | None:
    """The bearer token: from `token_file`, $METAFERRY_API_TOKEN_FILE, or $METAFERRY_API_TOKEN. It is masked
    like a secured property, so a token too short to be masked as a whole value is refused (SecretTooShort)."""
    path = token_file or os.environ.get(API_TOKEN_FILE_ENV)
    if path:
        token = Path(path).read_text(encoding="utf-8").strip()
        source = f"the API token in {path}"
    else:
        token = os.environ.get(API_TOKEN_ENV, "")
        source = f"the API token in ${API_TOKEN_ENV}"
    check_secret_length(token, name=source)
    return token or None


class RuntimeApi:
    def __init__(self, runtime: ConnectorRuntime, *, token: str | None) -> None:
        self.runtime = runtime
        self._token = token
        if token:
            runtime.masker.add([token])
        self.app = web.Application(client_max_size=MAX_BODY_BYTES)
        self.app.add_routes(
            [
                web.get("/healthz", self.healthz),
                web.get("/readyz", self.readyz),
                web.get("/status", self.status),
                web.get("/metrics", self.metrics),
                web.get("/audit", self.audit),
                web.post("/refresh", self.refresh),
                web.get("/refresh-requests/{request_id:.+}", self.refresh_request),
                web.post("/restart", self.restart),
                # Last, so the runtime's own paths win: what the running connector serves (sdk.routes).
                web.route("*", "/{path:.*}", self.connector_route),
            ]
        )

        self._own_methods: dict[str, str] = {}
        for route in self.app.router.routes():
            path = route.resource.canonical if route.resource is not None else ""
            if route.method != "*" and path:
                methods = {*self._own_methods.get(path, "").split(", "), route.method} - {""}
                self._own_methods[path] = ", ".join(sorted(methods))

    async def healthz(self, request: web.Request) -> web.Response:
        """Liveness: the process and its event loop answer. Connector failures do not fail it: the runtime
        restarts the connector itself, and killing the pod would only lose the report."""
        return web.json_response({"status": "ok"})

    async def readyz(self, request: web.Request) -> web.Response:
        ready = self.runtime.is_ready
        body = {"ready": ready, "connectorStatus": self.runtime.status.value}
        return web.json_response(body, status=200 if ready else 503)

    async def status(self, request: web.Request) -> web.Response:
        return _json(self.runtime.report().to_wire())

    async def metrics(self, request: web.Request) -> web.Response:
        body = generate_latest(self.runtime.metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def audit(self, request: web.Request) -> web.Response:
        try:
            limit = max(1, min(int(request.query.get("limit", "50")), 200))
        except ValueError:
            return _problem(400, "limit must be a whole number")
        records = self.runtime.audit_log.records()[-limit:]
        return web.Response(
            text="[" + ",".join(record.to_json() for record in records) + "]", content_type="application/json"
        )

    async def refresh(self, request: web.Request) -> web.Response:
        if (refused := self._authorize(request)) is not None:
            return refused
        try:
            raw = await request.read()
            body = RefreshRequest.model_validate_json(raw) if raw.strip() else RefreshRequest()
        except ValidationError as error:
            return _problem(400, f"invalid request body: {error.errors()[0]['msg']}")
        try:
            accepted = self.runtime.request_refresh(body.request_id, confirm_archive=body.confirm_archive)
        except RefreshRefused as error:
            return _problem(409, self.runtime.masker.mask(str(error)))
        return _json(accepted.to_wire(), status=202)

    async def refresh_request(self, request: web.Request) -> web.Response:
        """How the refresh a request joined ended; with `?wait=S`, held until it ends or S seconds pass (at most
        MAX_WAIT_SECONDS), so the operator learns within a moment without polling."""
        request_id = request.match_info["request_id"]
        try:
            seconds = float(request.query.get("wait", "0"))
        except ValueError:
            return _problem(400, "wait must be a number of seconds")
        if not 0 <= seconds <= MAX_WAIT_SECONDS:
            return _problem(400, f"wait must be between 0 and {MAX_WAIT_SECONDS:g} seconds")
        outcome = await self.runtime.refresh_requests.wait(request_id, seconds=seconds)
        if outcome is None:
            return _problem(404, "this runtime has no record of that refresh request (never made here, or forgotten)")
        return _json(outcome.to_wire())

    async def restart(self, request: web.Request) -> web.Response:
        if (refused := self._authorize(request)) is not None:
            return refused
        try:
            number = self.runtime.request_restart("requested through the API")
        except RestartRefused as error:
            return _problem(409, str(error))
        return _json(RestartAccepted(restart_count=number).to_wire(), status=202)

    async def connector_route(self, request: web.Request) -> web.Response:
        """A path the running connector serves, its handler called on a worker thread."""
        own = self._own_methods.get(request.path)
        if own:  # a path of the runtime's own, with another method
            return _problem(405, f"{request.method} is not allowed on {request.path}", headers={"Allow": own})
        routes = self.runtime.connector_api_routes()
        if routes is None:
            return _problem(503, f"the connector is not running (status {self.runtime.status.value})")
        matching = [route for route in routes if route.path == request.path]
        route = next((route for route in matching if route.method.upper() == request.method), None)
        if route is None:
            if matching:
                allowed = ", ".join(sorted({route.method.upper() for route in matching}))
                return _problem(405, f"{request.method} is not allowed on {request.path}", headers={"Allow": allowed})
            return _problem(404, f"no such path: {request.path}")
        if route.requires_token and (refused := self._authorize(request)) is not None:
            return refused
        call = ApiRequest(method=request.method, path=request.path, query=dict(request.query))
        try:
            response = await asyncio.to_thread(route.handler, call)
        except ApiError as error:
            return _problem(error.status, self.runtime.masker.mask(error.detail))
        except Exception as error:
            log.exception("%s %s failed", request.method, request.path)
            return _problem(500, self.runtime.masker.mask(f"{type(error).__name__}: {error}"))
        return _json(response.body, status=response.status)

    def _authorize(self, request: web.Request) -> web.Response | None:
        header = request.headers.get("Authorization", "")
        scheme, _, presented = header.partition(" ")
        if self._token is None:
            reason = f"the runtime has no API token configured (set {API_TOKEN_FILE_ENV})"
        elif scheme.lower() != "bearer" or not presented:
            reason = "missing bearer token"
        elif not hmac.compare_digest(presented.strip().encode(), self._token.encode()):
            reason = "wrong bearer token"
        else:
            return None
        self.runtime.audit_log.log_message(
            "authorize",
            RuntimeMessages.API_UNAUTHORIZED,
            method=request.method,
            path=request.path,
            peer=request.remote or "unknown",
            reason=reason,
        )
        return _problem(401, reason, headers={"WWW-Authenticate": 'Bearer realm="metaferry-runtime"'})


def _json(body: object, *, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(body), status=status, content_type="application/json")


def _problem(status: int, detail: str, *, headers: dict[str, str] | None = None) -> web.Response:
    """An RFC 9457 problem document, so clients get a reason and not just a code."""
    body = {"status": status, "title": _TITLES.get(status, "Error"), "detail": detail}
    return web.Response(text=json.dumps(body), status=status, content_type="application/problem+json", headers=headers)


_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
