"""Reading a Confluent-compatible schema registry over its REST API (httpx).

`GET /subjects` lists the subjects, `GET /subjects/<subject>/versions/latest` gives each one's latest
version: `{subject, version, id, schemaType, schema}` (schemaType absent means AVRO). Confluent's registry,
Apicurio's `/apis/ccompat/v7` and Redpanda's serve these shapes. The basic-auth password comes from the
Secret; a failure names the registry and the status, never the credentials.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import httpx

from metaferry_runtime.sdk import ConnectorError

ACCEPT = "application/vnd.schemaregistry.v1+json, application/json"


@dataclass(frozen=True)
class SubjectVersion:
    subject: str
    version: int
    schema_id: int
    schema_type: str  # AVRO, JSON or PROTOBUF
    schema: str


class SchemaRegistry:
    def __init__(self, url: str, *, username: str | None, password: str | None, timeout: float) -> None:
        self.url = url.rstrip("/")
        auth = httpx.BasicAuth(username, password or "") if username is not None else None
        self._client = httpx.Client(base_url=self.url, auth=auth, timeout=timeout, headers={"Accept": ACCEPT})

    def close(self) -> None:
        self._client.close()

    def _get(self, path: str) -> object:
        try:
            response = self._client.get(path)
        except httpx.HTTPError as error:
            raise ConnectorError(f"the schema registry {self.url} could not be read ({type(error).__name__})") from None
        if response.status_code != 200:
            raise ConnectorError(f"the schema registry {self.url} answered {response.status_code} to GET {path}")
        try:
            return response.json()
        except ValueError:
            raise ConnectorError(f"the schema registry {self.url} answered GET {path} with no JSON") from None

    def subjects(self) -> list[str]:
        listed = self._get("/subjects")
        if not isinstance(listed, list) or not all(isinstance(s, str) for s in listed):
            raise ConnectorError(f"the schema registry {self.url} answered GET /subjects with no list of subjects")
        return sorted(listed)

    def latest(self, subject: str) -> SubjectVersion:
        path = f"/subjects/{quote(subject, safe='')}/versions/latest"
        body = self._get(path)
        if not isinstance(body, dict) or not isinstance(body.get("schema"), str):
            raise ConnectorError(f"the schema registry {self.url} answered GET {path} with no schema")
        return SubjectVersion(
            subject=subject,
            version=int(body.get("version", 0)),
            schema_id=int(body.get("id", 0)),
            schema_type=str(body.get("schemaType") or "AVRO").upper(),
            schema=body["schema"],
        )

    def read(self) -> list[SubjectVersion]:
        return [self.latest(subject) for subject in self.subjects()]
