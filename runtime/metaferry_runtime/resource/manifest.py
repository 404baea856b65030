"""The whole IntegrationConnector object, and loading it from a YAML file with errors a person can act on."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError

from metaferry_runtime.resource.base import KubeModel
from metaferry_runtime.resource.spec import IntegrationConnectorSpec
from metaferry_runtime.resource.status import IntegrationConnectorStatus

API_GROUP = "metaferry.io"
API_VERSION: Literal["metaferry.io/v1alpha1"] = "metaferry.io/v1alpha1"
KIND: Literal["IntegrationConnector"] = "IntegrationConnector"
PLURAL = "integrationconnectors"


class ObjectMeta(KubeModel):
    """The metadata fields the runtime reads; everything else the API server adds is accepted and ignored."""

    model_config = KubeModel.model_config | {"extra": "ignore"}

    name: str = Field(min_length=1, max_length=63, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    namespace: str = Field(default="default", min_length=1, max_length=63)
    uid: str | None = None
    generation: int | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


class ConnectorResource(KubeModel):
    """One custom resource of apiVersion metaferry.io/v1alpha1, kind IntegrationConnector.

    Named apart from the kind so it is never mistaken for `metaferry_runtime.sdk.IntegrationConnector`, the
    base class a connector subclasses.
    """

    api_version: Literal["metaferry.io/v1alpha1"] = API_VERSION
    kind: Literal["IntegrationConnector"] = KIND
    metadata: ObjectMeta
    spec: IntegrationConnectorSpec
    status: IntegrationConnectorStatus | None = None

    @property
    def metadata_source_qualified_name(self) -> str:
        """The owning metadata collection: explicit, or `<namespace>/<name>`."""
        return self.spec.metadata_source_qualified_name or f"{self.metadata.namespace}/{self.metadata.name}"


class ManifestError(Exception):
    """A manifest that cannot be used; `str()` names the file, the field path and what was expected."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: invalid IntegrationConnector\n" + "\n".join(f"  - {p}" for p in problems))


def _field_path(location: tuple[int | str, ...]) -> str:
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(document)"


def parse_manifest(document: Any, *, source: str) -> ConnectorResource:
    """Validate one decoded YAML document; raise ManifestError listing every problem."""
    if not isinstance(document, dict):
        raise ManifestError(source, ["the document must be a mapping with apiVersion, kind, metadata and spec"])
    try:
        return ConnectorResource.model_validate(document)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            message = item["msg"].removeprefix("Value error, ")
            if item["type"] == "literal_error" and item["loc"] and item["loc"][0] in ("apiVersion", "kind"):
                message = f"expected {item['ctx']['expected']}, got {item['input']!r}"
            elif item["type"] == "extra_forbidden":
                message = "unknown field (check its spelling and indentation)"
            problems.append(f"{_field_path(tuple(item['loc']))}: {message}")
        raise ManifestError(source, problems) from error


def load_manifest(path: str | Path) -> ConnectorResource:
    """Read the IntegrationConnector in a YAML file: its only document, or the only one of that kind (a
    Secret or ConfigMap beside it, for `kubectl apply`, is left to the cluster)."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ManifestError(source, [f"cannot read the file: {error.strerror}"]) from error
    try:
        documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as error:
        raise ManifestError(source, [f"not valid YAML: {error}"]) from error
    if len(documents) == 1:
        return parse_manifest(documents[0], source=source)
    # As `kubectl apply -f` takes it: the file may hold the Secret the connector names, beside it.
    connectors = [doc for doc in documents if isinstance(doc, dict) and doc.get("kind") == "IntegrationConnector"]
    if (found := len(connectors)) != 1:
        raise ManifestError(
            source,
            [f"expected exactly one IntegrationConnector among its {len(documents)} YAML documents, found {found}"],
        )
    return parse_manifest(connectors[0], source=source)
