"""A real HTTP server on loopback that serves OpenAPI documents the way real servers do, for the
openapi-monitor tests: ETag and Last-Modified with conditional requests (either can be turned off), bearer
or basic auth, and a switch that makes one path fail. It counts what it answered, so a test can prove that an
unchanged document cost one 304.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class DocumentServer:
    """Serves `documents` (path -> bytes); `url(path)` is its address."""

    def __init__(self) -> None:
        self.documents: dict[str, bytes] = {}
        self.content_types: dict[str, str] = {}
        self.failing: dict[str, int] = {}  # path -> status it answers instead
        self.etags = True
        self.last_modified = True
        self.token: str | None = None
        self.basic: tuple[str, str] | None = None
        self.answers: Counter[tuple[str, int]] = Counter()  # (path, status) -> count
        self.authorizations: list[str | None] = []
        self._modified: dict[str, float] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._stopped = False

    @property
    def base(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def put(self, path: str, body: bytes | str, content_type: str = "application/json") -> None:
        with self._lock:
            self.documents[path] = body.encode() if isinstance(body, str) else body
            self.content_types[path] = content_type
            # Last-Modified has one-second resolution: a change within the same second must still show
            self._modified[path] = max(time.time(), self._modified.get(path, 0) + 1)

    def count(self, status: int, path: str | None = None) -> int:
        return sum(n for (p, s), n in self.answers.items() if s == status and (path is None or p == path))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop serving (idempotent: a test may stop it early to make it unreachable)."""
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def answer(self, request: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        path = request.path.split("?", 1)[0]
        self.authorizations.append(request.headers.get("Authorization"))
        if not self._authorized(request.headers.get("Authorization")):
            return 401, {"WWW-Authenticate": "Bearer"}, b"unauthorized"
        if path in self.failing:
            return self.failing[path], {}, b"failing on purpose"
        with self._lock:
            body = self.documents.get(path)
            modified = self._modified.get(path, 0.0)
            content_type = self.content_types.get(path, "application/json")
        if body is None:
            return 404, {}, b"not found"
        tag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        stamp = email.utils.formatdate(modified, usegmt=True)
        headers = {"Content-Type": content_type}
        if self.etags:
            headers["ETag"] = tag
            if request.headers.get("If-None-Match") == tag:
                return 304, headers, b""
        if self.last_modified:
            headers["Last-Modified"] = stamp
            since = request.headers.get("If-Modified-Since")
            if since and not self.etags and email.utils.parsedate_to_datetime(since).timestamp() >= int(modified):
                return 304, headers, b""
        return 200, headers, body

    def _authorized(self, header: str | None) -> bool:
        if self.token is not None:
            return header == f"Bearer {self.token}"
        if self.basic is not None:
            expected = base64.b64encode(f"{self.basic[0]}:{self.basic[1]}".encode()).decode()
            return header == f"Basic {expected}"
        return True


def _handler(server: DocumentServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, headers, body = server.answer(self)
            server.answers[(self.path.split("?", 1)[0], status)] += 1
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if status != 304:
                self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def serving() -> Iterator[DocumentServer]:
    server = DocumentServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
