"""A stand-in for a Confluent schema registry: it replays the REST API's documented response shapes.

No schema registry can be installed here from the package registries (Confluent's is not on Maven Central,
and Apicurio's `apicurio-registry-app` depends on artifacts Maven Central does not serve), so the
kafka-topics connector's registry client is tested against this server instead. The responses are written by
hand after Confluent's API reference: `GET /subjects` -> a JSON list of names; `GET
/subjects/<subject>/versions/latest` -> `{"subject", "version", "id", "schema"}` plus `"schemaType"` for JSON
and PROTOBUF (absent for AVRO); an unknown subject -> 404 `{"error_code": 40401, "message": ...}`; a request
without the right basic-auth credentials -> 401 `{"error_code": 401, "message": "Unauthorized"}`. Content type
`application/vnd.schemaregistry.v1+json`, as the registry sends it.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


@dataclass
class Registry:
    """The subjects served: subject -> (schemaType or None for AVRO, schema text); versions count up."""

    username: str | None = None
    password: str | None = None
    subjects: dict[str, tuple[str | None, str]] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    url: str = ""

    def register(self, subject: str, schema: str | dict[str, Any], schema_type: str | None = None) -> None:
        text = schema if isinstance(schema, str) else json.dumps(schema)
        self.subjects[subject] = (schema_type, text)
        self.versions[subject] = self.versions.get(subject, 0) + 1
        self.ids[subject] = len(self.ids) + 100

    def delete(self, subject: str) -> None:
        del self.subjects[subject]

    def answer(self, path: str, authorization: str | None) -> tuple[int, Any]:
        self.requests.append(path)
        if self.username is not None:
            expected = "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            if authorization != expected:
                return 401, {"error_code": 401, "message": "Unauthorized"}
        if path == "/subjects":
            return 200, sorted(self.subjects)
        parts = path.split("/")
        if len(parts) == 5 and parts[1] == "subjects" and parts[3] == "versions" and parts[4] == "latest":
            subject = unquote(parts[2])
            if subject not in self.subjects:
                return 404, {"error_code": 40401, "message": f"Subject '{subject}' not found."}
            schema_type, text = self.subjects[subject]
            body: dict[str, Any] = {
                "subject": subject,
                "version": self.versions[subject],
                "id": self.ids[subject],
                "schema": text,
            }
            if schema_type is not None:
                body["schemaType"] = schema_type
            return 200, body
        return 404, {"error_code": 404, "message": "HTTP 404 Not Found"}


@contextmanager
def serving(registry: Registry) -> Iterator[Registry]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = registry.answer(self.path, self.headers.get("Authorization"))
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", CONTENT_TYPE)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    registry.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield registry
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
