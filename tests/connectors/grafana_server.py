"""A real HTTP server on loopback (aiohttp, on a thread of its own) that speaks the Grafana HTTP API paths the
grafana-dashboards connector reads, as Grafana answers them: `/api/search` (paged by `limit` and `page`),
`/api/dashboards/uid/<uid>` (the dashboard in `{"dashboard", "meta"}`), `/api/folders`, `/api/datasources` and
`/api/library-elements/<uid>`,
behind bearer or basic auth. It records what it was asked, so a test can see what was sent and how often.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from aiohttp import web

#: The bearer token the tests' Grafana accepts (a Secret's `token`).
GRAFANA_TOKEN = "glsa_test-token-0123456789"


class GrafanaServer:
    """Holds dashboards by uid (each with its folder) and data sources; `base` is its address."""

    def __init__(self, *, token: str | None = None, basic: tuple[str, str] | None = None) -> None:
        self.token = token
        self.basic = basic
        self.dashboards: dict[str, tuple[dict[str, Any], str | None]] = {}
        self.folders: dict[str, str] = {}  # uid -> title
        self.datasources: list[dict[str, Any]] = []
        self.library_panels: dict[str, dict[str, Any]] = {}  # uid -> the panel model
        self.datasources_status = 200  # 403: a token that may not read data sources
        self.failing: dict[str, int] = {}  # dashboard uid -> status it answers instead
        self.etags = False  # Grafana sends none; a caching proxy in front of it does (and answers 304s)
        self.answers: Counter[int] = Counter()  # status of each dashboard answer -> count
        self.requests: Counter[str] = Counter()  # path -> count
        self.authorizations: list[str | None] = []
        self._versions: dict[str, int] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self.base = ""

    def put(self, dashboard: Mapping[str, Any], *, folder: str | None = None) -> None:
        """Save a dashboard (as Grafana does: its version goes up by one)."""
        uid = str(dashboard["uid"])
        version = self._versions.get(uid, 0) + 1
        self._versions[uid] = version
        if folder is not None:
            self.folders.setdefault(_folder_uid(folder), folder)
        self.dashboards[uid] = ({**dashboard, "version": version}, folder)

    def remove(self, uid: str) -> None:
        del self.dashboards[uid]

    # --- serving ----------------------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
            self._runner = None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _start(self) -> None:
        app = web.Application(middlewares=[self._authenticate])
        app.router.add_get("/api/search", self._search)
        app.router.add_get("/api/dashboards/uid/{uid}", self._dashboard)
        app.router.add_get("/api/folders", self._folders)
        app.router.add_get("/api/datasources", self._datasources)
        app.router.add_get("/api/library-elements/{uid}", self._library_element)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base = f"http://{host}:{port}"

    @web.middleware
    async def _authenticate(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests[request.path] += 1
        header = request.headers.get("Authorization")
        self.authorizations.append(header)
        if not self._authorized(header):
            return web.json_response({"message": "Unauthorized"}, status=401)
        response: web.StreamResponse = await handler(request)
        return response

    def _authorized(self, header: str | None) -> bool:
        if self.token is None and self.basic is None:
            return True
        if self.token is not None and header == f"Bearer {self.token}":
            return True
        if self.basic is not None and header is not None and header.startswith("Basic "):
            return base64.b64decode(header[6:]).decode() == f"{self.basic[0]}:{self.basic[1]}"
        return False

    async def _search(self, request: web.Request) -> web.Response:
        if request.query.get("type") != "dash-db":
            return web.json_response({"message": "only type=dash-db is served here"}, status=400)
        limit, page = int(request.query.get("limit", "1000")), int(request.query.get("page", "1"))
        ordered = sorted(self.dashboards.items(), key=lambda item: (str(item[1][0].get("title")), item[0]))
        hits = [
            {
                "uid": uid,
                "title": dashboard.get("title"),
                "type": "dash-db",
                "url": f"/d/{uid}/{_slug(str(dashboard.get('title')))}",
                "tags": dashboard.get("tags", []),
                **({"folderUid": _folder_uid(folder), "folderTitle": folder} if folder else {}),
            }
            for uid, (dashboard, folder) in ordered[(page - 1) * limit : page * limit]
        ]
        return web.json_response(hits)

    async def _dashboard(self, request: web.Request) -> web.Response:
        uid = request.match_info["uid"]
        if uid in self.failing:
            return web.json_response({"message": "failing on purpose"}, status=self.failing[uid])
        if uid not in self.dashboards:
            return web.json_response({"message": "Dashboard not found"}, status=404)
        dashboard, folder = self.dashboards[uid]
        meta = {
            "url": f"/d/{uid}/{_slug(str(dashboard.get('title')))}",
            "created": "2026-01-05T10:00:00Z",
            "updated": "2026-02-01T09:30:00Z",
            "createdBy": "admin",
            "updatedBy": "editor",
            "version": dashboard["version"],
            **({"folderUid": _folder_uid(folder), "folderTitle": folder} if folder else {"folderTitle": "General"}),
        }
        response = web.json_response({"dashboard": dashboard, "meta": meta})
        if self.etags:
            etag = '"' + hashlib.sha256(bytes(response.body or b"")).hexdigest()[:16] + '"'
            if request.headers.get("If-None-Match") == etag:
                self.answers[304] += 1
                return web.Response(status=304, headers={"ETag": etag})
            response.headers["ETag"] = etag
        self.answers[200] += 1
        return response

    async def _folders(self, request: web.Request) -> web.Response:
        return web.json_response([{"uid": uid, "title": title} for uid, title in sorted(self.folders.items())])

    async def _library_element(self, request: web.Request) -> web.Response:
        uid = request.match_info["uid"]
        if uid not in self.library_panels:
            return web.json_response({"message": "library element could not be found"}, status=404)
        model = self.library_panels[uid]
        return web.json_response({"result": {"uid": uid, "name": model.get("title"), "kind": 1, "model": model}})

    async def _datasources(self, request: web.Request) -> web.Response:
        if self.datasources_status != 200:
            return web.json_response({"message": "Permission denied"}, status=self.datasources_status)
        return web.json_response(self.datasources)


def _folder_uid(title: str) -> str:
    return "f-" + _slug(title)


def _slug(title: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in title.lower()).split())


@contextmanager
def serving(**auth: Any) -> Iterator[GrafanaServer]:
    server = GrafanaServer(**auth)
    server.start()
    try:
        yield server
    finally:
        server.stop()
