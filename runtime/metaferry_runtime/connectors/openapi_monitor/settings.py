"""The openapi-monitor connector's configuration properties."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictBool

from metaferry_runtime.sdk import ConnectorConfiguration

#: Tried in order below a base URL until one answers with an OpenAPI document (or the Kubernetes API
#: server's document index, `/openapi/v3`, whose per-group documents are each catalogued).
WELL_KNOWN_PATHS = ("/openapi.json", "/openapi.yaml", "/v3/api-docs", "/swagger.json", "/openapi/v3", "/openapi/v2")

Validation = Literal["full", "schema", "off"]


class OpenAPIMonitorSettings(ConnectorConfiguration):
    """Where documents are found and how they are fetched; the endpoint and catalogTargets say which."""

    well_known_paths: tuple[str, ...] = Field(
        default=WELL_KNOWN_PATHS, min_length=1, description="paths tried in order below a base URL"
    )
    timeout_seconds: float = Field(default=30.0, gt=0, le=600, description="seconds per HTTP request, up to 600")
    max_document_megabytes: int = Field(default=200, ge=1, description="largest document read, in MB")
    ca_file: str | None = Field(default=None, description="a PEM file of the CAs that sign the servers' certificates")
    verify_tls: StrictBool = Field(default=True, description="true or false: check the servers' certificates")
    validation: Validation = Field(
        default="full",
        description="full (the OpenAPI rules), schema (the specification's JSON Schema only) or off",
    )
    max_reported_problems: int = Field(default=20, ge=1, description="validation problems quoted per document")
