"""The opa-publisher connector's configuration properties."""

from __future__ import annotations

import re

from pydantic import Field, StrictBool, field_validator

from metaferry_runtime.sdk import ConnectorConfiguration

_SEGMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class OpaPublisherSettings(ConnectorConfiguration):
    """Where in OPA's data the document goes, how long a request may take, and which Secret key is the token."""

    document_path: str = Field(
        default="metaferry",
        description="slash-separated OPA data path of the document, e.g. metaferry or access/metaferry;"
        " each segment a Rego identifier (letters, digits, underscores)",
    )
    token_key: str = Field(default="token", min_length=1, description="the key of the bearer token in the Secret")
    publish_on_events: StrictBool = Field(
        default=True, description="true or false: publish each change as it happens, not only on refresh"
    )
    connect_timeout_seconds: float = Field(default=5.0, gt=0, le=600, description="seconds, above 0, at most 600")
    request_timeout_seconds: float = Field(default=30.0, gt=0, le=600, description="seconds, above 0, at most 600")
    verify_tls: StrictBool = Field(default=True, description="true or false: check the server's TLS certificate")
    ca_file: str | None = Field(default=None, description="path of a PEM file of CA certificates for https")

    @field_validator("document_path")
    @classmethod
    def _rego_path(cls, value: str) -> str:
        segments = value.strip("/").split("/")
        if not all(_SEGMENT.match(segment) for segment in segments):
            raise ValueError("each segment must be a Rego identifier (letters, digits, underscores)")
        if segments[0] == "system":
            raise ValueError("OPA keeps data.system for its own configuration and authorization policy")
        return "/".join(segments)

    @property
    def rego_reference(self) -> str:
        """How a policy names the document: `data.metaferry`."""
        return "data." + self.document_path.replace("/", ".")
