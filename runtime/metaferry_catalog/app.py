"""The catalogue's aiohttp application: routes, auth, and errors as JSON problems."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel

from metaferry_catalog.auth import Action, Authenticator, Verdict
from metaferry_catalog.feed import resume_position, stream
from metaferry_catalog.models import (
    ElementDetail,
    ElementPage,
    Graph,
    Health,
    Problem,
    RelationshipPage,
    TypeCatalog,
)
from metaferry_catalog.openapi import Endpoint, document
from metaferry_catalog.params import (
    BadRequest,
    FeedParams,
    LineageParams,
    NeighbourhoodParams,
    PageParams,
    SearchParams,
    _Params,
    parse,
)
from metaferry_catalog.reads import Reads
from metaferry_catalog.writes import MAX_BODY_BYTES, CurationRequest, Writes, parse_curation
from metaferry_runtime.repository import ChangeEvent, ElementNotFound, MetadataRepository, RepositoryUnavailable
from metaferry_runtime.repository.types import TypeRegistry, default_registry

log = logging.getLogger(__name__)

READS = web.AppKey("reads", Reads)
WRITES = web.AppKey("writes", Writes)
AUTHENTICATOR = web.AppKey("authenticator", Authenticator)
USER = web.RequestKey("user", str)  # the authenticated user, the curator of a write
OPENAPI = web.AppKey("openapi", dict)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
T = TypeVar("T")


class NoParams(_Params):
    """An endpoint without query parameters still refuses unknown ones."""


ENDPOINTS = {
    "health": Endpoint("/healthz", "liveness and the repository's last event", Health, errors=(), public=True),
    "search": Endpoint("/api/v1/elements", "search elements", ElementPage, SearchParams),
    "element": Endpoint(
        "/api/v1/elements/{guid}", "one element, with provenance", ElementDetail, NoParams, errors=(400, 401, 404)
    ),
    "curate": Endpoint(
        "/api/v1/elements/{guid}",
        "curate an element's properties as the token's user; answers the element as GET does",
        ElementDetail,
        NoParams,
        method="patch",
        body=CurationRequest,
        errors=(400, 401, 404, 413),
    ),
    "relationships": Endpoint(
        "/api/v1/elements/{guid}/relationships",
        "an element's relationships",
        RelationshipPage,
        PageParams,
        errors=(400, 401, 404),
    ),
    "neighbourhood": Endpoint(
        "/api/v1/elements/{guid}/neighbourhood",
        "elements related to it, to a depth",
        Graph,
        NeighbourhoodParams,
        errors=(400, 401, 404),
    ),
    "lineage": Endpoint(
        "/api/v1/elements/{guid}/lineage",
        "upstream or downstream through DataFlow and LineageMapping",
        Graph,
        LineageParams,
        errors=(400, 401, 404),
    ),
    "types": Endpoint("/api/v1/types", "element, relationship and classification types", TypeCatalog, NoParams),
    "events": Endpoint(
        "/api/v1/events",
        "the change feed as Server-Sent Events; each event's id is its sequence",
        ChangeEvent,
        FeedParams,
        media_type="text/event-stream",
        headers={"Last-Event-ID": "resume after this event (wins over `after`); without either, from now"},
    ),
}
PUBLIC_PATHS = frozenset({"/openapi.json"} | {e.path for e in ENDPOINTS.values() if e.public})


def _problem(status: int, title: str, detail: str, **headers: str) -> web.Response:
    body = Problem(status=status, title=title, detail=detail).model_dump_json()
    return web.Response(status=status, text=body, content_type="application/json", headers=headers)


def _json(model: BaseModel) -> web.Response:
    return web.Response(text=model.model_dump_json(), content_type="application/json")


@web.middleware
async def problems(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except BadRequest as error:
        return _problem(400, "Bad Request", str(error))
    except ElementNotFound:
        return _problem(404, "Not Found", f"no element with GUID {request.match_info.get('guid', '')!r}")
    except RepositoryUnavailable as error:
        log.warning("repository unavailable: %s", error)
        return _problem(503, "Service Unavailable", "the repository cannot be reached; retry later")
    except web.HTTPException as error:
        if error.status < 400:
            raise
        return _problem(error.status, error.reason, error.text or error.reason)


@web.middleware
async def bearer(request: web.Request, handler: Handler) -> web.StreamResponse:
    """401 without a valid token, 403 for a user not admitted to what the request does (a GET reads, any
    other method curates). The header is read here only: nothing logs or returns it."""
    authenticator = request.app.get(AUTHENTICATOR)
    if authenticator is None or request.path in PUBLIC_PATHS:
        return await handler(request)
    action = Action.READ if request.method == "GET" else Action.CURATE
    judgement = await authenticator.judge(request.headers.get("Authorization"), action)
    verdict = judgement.verdict
    if verdict is Verdict.UNAUTHENTICATED:
        return _problem(401, "Unauthorized", "a valid bearer token is required", **{"WWW-Authenticate": "Bearer"})
    if verdict is Verdict.FORBIDDEN:
        return _problem(403, "Forbidden", f"this token's user may not {action.value}")
    if verdict is Verdict.UNAVAILABLE:
        return _problem(503, "Service Unavailable", "the token cannot be checked now; retry later")
    if judgement.user is not None:
        request[USER] = judgement.user
    return await handler(request)


async def _off_loop(call: Callable[[], T]) -> T:
    return await asyncio.to_thread(call)


async def health(request: web.Request) -> web.Response:
    parse(NoParams, request.query)
    reads = request.app[READS]
    head = await _off_loop(reads.repository.head_sequence)
    return _json(Health(status="ok", head_sequence=head))


async def search(request: web.Request) -> web.Response:
    params = parse(SearchParams, request.query)
    return _json(await _off_loop(partial(request.app[READS].search, params)))


async def element(request: web.Request) -> web.Response:
    parse(NoParams, request.query)
    return _json(await _off_loop(partial(request.app[READS].element, request.match_info["guid"])))


async def _body(request: web.Request, limit: int) -> bytes:
    """The request body, or 413 once it is longer than `limit` (read no further than that)."""
    too_large = web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length or limit + 1)
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    body = await request.content.read(limit + 1)
    if len(body) > limit:
        raise too_large
    return body


async def curate(request: web.Request) -> web.Response:
    parse(NoParams, request.query)
    curator = request.get(USER)
    if curator is None:  # served without auth (`--no-auth`): nobody to record as the curator
        return _problem(403, "Forbidden", "curation needs an authenticated user; this catalogue serves without auth")
    curation = parse_curation(await _body(request, MAX_BODY_BYTES))
    guid = request.match_info["guid"]
    return _json(await _off_loop(partial(request.app[WRITES].curate, guid, curation, curator=curator)))


async def relationships(request: web.Request) -> web.Response:
    params = parse(PageParams, request.query)
    return _json(await _off_loop(partial(request.app[READS].relationships, request.match_info["guid"], params)))


async def neighbourhood(request: web.Request) -> web.Response:
    params = parse(NeighbourhoodParams, request.query)
    return _json(await _off_loop(partial(request.app[READS].neighbourhood, request.match_info["guid"], params)))


async def lineage(request: web.Request) -> web.Response:
    params = parse(LineageParams, request.query)
    return _json(await _off_loop(partial(request.app[READS].lineage, request.match_info["guid"], params)))


async def types(request: web.Request) -> web.Response:
    parse(NoParams, request.query)
    return _json(request.app[READS].type_catalog())


async def events(request: web.Request) -> web.StreamResponse:
    params = parse(FeedParams, request.query)
    position = resume_position(request.headers.get("Last-Event-ID"), params.after)
    return await stream(request, request.app[READS].repository, position)


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(request.app[OPENAPI])


HANDLERS: dict[str, Callable[[web.Request], Awaitable[Any]]] = {
    "health": health,
    "search": search,
    "element": element,
    "curate": curate,
    "relationships": relationships,
    "neighbourhood": neighbourhood,
    "lineage": lineage,
    "types": types,
    "events": events,
}


def make_app(
    repository: MetadataRepository, *, tokens: Authenticator | None, types: TypeRegistry | None = None
) -> web.Application:
    """`tokens=None` serves everyone: only for a caller that put its own auth in front (the CLI insists on
    a token file or Kubernetes auth unless told `--no-auth`)."""
    app = web.Application(middlewares=[problems, bearer])
    app[READS] = Reads(repository, types or default_registry())
    app[WRITES] = Writes(app[READS])
    if tokens is not None:
        app[AUTHENTICATOR] = tokens
    app[OPENAPI] = document(list(ENDPOINTS.values()))
    app.router.add_get("/openapi.json", openapi)
    for name, endpoint in ENDPOINTS.items():
        if endpoint.method == "get":
            app.router.add_get(endpoint.path, HANDLERS[name], name=name, allow_head=False)
        else:
            app.router.add_route(endpoint.method.upper(), endpoint.path, HANDLERS[name], name=name)
    return app
