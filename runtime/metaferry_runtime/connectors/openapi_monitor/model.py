"""What the connector reads from an OpenAPI document, before anything is written: the API, its operations,
their header, request and response parameters. Reading builds these completely (or records a problem),
so a document that cannot be read writes nothing."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

ListRole = Literal["header", "request", "response"]
HTTP_VERBS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class ParameterDefinition(BaseModel):
    """A parameter, or one property of a request or response body's schema (location `body`)."""

    model_config = ConfigDict(frozen=True)

    name: str
    location: str  # path, query, header, cookie, formData or body
    data_type: str | None = None
    format: str | None = None
    required: bool = False
    description: str | None = None
    example: str | None = None
    deprecated: bool = False


class OperationDefinition(BaseModel):
    """One path and verb."""

    model_config = ConfigDict(frozen=True)

    path: str
    verb: str
    operation_id: str | None = None
    summary: str | None = None
    description: str | None = None
    tags: tuple[str, ...] = ()
    deprecated: bool = False
    parameters: dict[ListRole, tuple[ParameterDefinition, ...]]


class TagDefinition(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    description: str | None = None


class APIDefinition(BaseModel):
    """One document: its identity (title, version and, for a document of an index, its group) and content."""

    model_config = ConfigDict(frozen=True)

    title: str
    version: str
    group: str | None = None  # the key of a per-group document in an index (Kubernetes' `apis/apps/v1`)
    specification: str  # "OpenAPI 3.1.0", "Swagger 2.0"
    description: str | None = None
    servers: tuple[str, ...] = ()
    tags: tuple[TagDefinition, ...] = ()
    operations: tuple[OperationDefinition, ...] = ()
