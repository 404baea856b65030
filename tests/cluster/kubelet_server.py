"""The kubelet's log endpoint, for the pod runner's containers: `kubectl logs` and `pods/log` work in tests.

The API server answers `GET pods/{name}/log` by calling the node's kubelet at
`https://<InternalIP>:<daemonEndpoints.kubeletEndpoint.Port>/containerLogs/{namespace}/{pod}/{container}`
with its kubelet client certificate. This serves that path from the runner's log files over TLS, and like a
kubelet it accepts only clients whose certificate the cluster CA signed. It keeps what a kubelet's
`tailLines`, `limitBytes` and `follow` do; a container's output is one file across restarts, so `previous`
is refused rather than answered with the wrong run, and `timestamps`/`sinceSeconds`/`sinceTime` are refused
because the runner records no line times.
"""

from __future__ import annotations

import http.server
import logging
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

logger = logging.getLogger(__name__)

UNSUPPORTED = ("previous", "timestamps", "sinceSeconds", "sinceTime")
FOLLOW_POLL_SECONDS = 0.2


class KubeletServer:
    """Serves `/containerLogs/...` on 127.0.0.1 until :meth:`stop`; `port` is what the Node advertises."""

    def __init__(
        self,
        *,
        log_path: Callable[[str, str, str], Path],
        running: Callable[[str, str], bool],
        cert: Path,
        key: Path,
        ca: Path,
    ) -> None:
        handler = _handler(log_path, running)
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        context.load_verify_locations(ca)
        context.verify_mode = ssl.CERT_REQUIRED
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="kubelet-server", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(
    log_path: Callable[[str, str, str], Path], running: Callable[[str, str], bool]
) -> type[http.server.BaseHTTPRequestHandler]:
    class ContainerLogs(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            parts = url.path.strip("/").split("/")
            if len(parts) != 4 or parts[0] != "containerLogs":
                return self._plain(404, f"not served by the test kubelet: {url.path}")
            _, namespace, pod, container = parts
            query = {key: values[-1] for key, values in urllib.parse.parse_qs(url.query).items()}
            asked = [name for name in UNSUPPORTED if query.get(name) not in (None, "", "false")]
            if asked:
                return self._plain(400, f"the test pod runner does not support {', '.join(asked)}")
            path = log_path(namespace, pod, container)
            if not path.exists():
                return self._plain(404, f"container {container!r} of pod {namespace}/{pod} has no log here")
            data = _tail(path.read_bytes(), query.get("tailLines"))
            limit = int(query["limitBytes"]) if query.get("limitBytes") else None
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            if query.get("follow") != "true":
                data = data[:limit] if limit is not None else data
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            self.end_headers()  # HTTP/1.0 and no length: the body ends when the connection closes
            sent, offset = 0, path.stat().st_size
            try:
                while True:
                    if limit is not None:
                        data = data[: max(0, limit - sent)]
                    if data:
                        self.wfile.write(data)
                        self.wfile.flush()
                        sent += len(data)
                    if (limit is not None and sent >= limit) or not running(namespace, pod):
                        break
                    time.sleep(FOLLOW_POLL_SECONDS)
                    with path.open("rb") as log:
                        log.seek(offset)
                        data = log.read()
                    offset += len(data)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                pass  # the client stopped following

        def _plain(self, status: int, message: str) -> None:
            body = message.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            logger.debug("kubelet server: " + format, *args)

    return ContainerLogs


def _tail(data: bytes, lines: str | None) -> bytes:
    if not lines:
        return data
    kept = data.splitlines(keepends=True)[-int(lines) :] if int(lines) > 0 else []
    return b"".join(kept)
