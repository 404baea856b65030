"""dbt's artifacts, `manifest.json` and `catalog.json`, as pydantic models of only the fields catalogued.

dbt is not a runtime dependency: its artifact schemas change between releases in fields this connector does
not read, so the models here ignore every other field and give each optional one a default. What the
connector relies on is in every manifest since schema v12 (dbt 1.8); a later schema is read the same way,
an earlier one is refused with the versions supported (older manifests lack `unit_tests` and name the
compiled SQL `compiled_sql`). `doc_blocks` (dbt 1.10 and later) say which docs blocks a description uses;
an older manifest has none, and the connector falls back to matching the description's text.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from metaferry_runtime.sdk import ConnectorError

#: The oldest manifest schema read (dbt 1.8 wrote v12, as do the releases since).
OLDEST_MANIFEST_VERSION = 12
_SCHEMA_VERSION = re.compile(r"/manifest/v(\d+)\.json$")


class InvalidArtifact(ConnectorError):
    """A manifest or catalog that is not JSON of the expected shape, or of a schema version not supported."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class DependsOn(_Model):
    nodes: tuple[str, ...] = ()


class NodeConfig(_Model):
    materialized: str | None = None
    severity: str | None = None
    enabled: bool = True
    meta: dict[str, Any] = Field(default_factory=dict)


class ColumnConfig(_Model):
    meta: dict[str, Any] = Field(default_factory=dict)


class Column(_Model):
    name: str
    description: str = ""
    data_type: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict)
    tags: tuple[str, ...] = ()
    doc_blocks: tuple[str, ...] = ()
    config: ColumnConfig = ColumnConfig()

    @property
    def all_meta(self) -> dict[str, Any]:
        return self.meta | self.config.meta


class TestMetadata(_Model):  # type: ignore[no-redef]  # the pydantic plugin: a field aliased "kwargs"
    name: str
    namespace: str | None = None
    arguments: dict[str, Any] = Field(default_factory=dict, alias="kwargs")


class Node(_Model):
    """A model, seed, snapshot, test, analysis or operation of `nodes`."""

    unique_id: str
    resource_type: str
    name: str
    package_name: str
    original_file_path: str = ""
    database: str | None = None
    schema_: str | None = Field(default=None, alias="schema")
    alias: str | None = None
    relation_name: str | None = None
    description: str = ""
    columns: dict[str, Column] = Field(default_factory=dict)
    meta: dict[str, Any] = Field(default_factory=dict)
    tags: tuple[str, ...] = ()
    config: NodeConfig = NodeConfig()
    depends_on: DependsOn = DependsOn()
    raw_code: str = ""
    compiled_code: str | None = None
    language: str = "sql"
    test_metadata: TestMetadata | None = None
    column_name: str | None = None
    attached_node: str | None = None
    doc_blocks: tuple[str, ...] = ()


class Source(_Model):
    unique_id: str
    name: str
    source_name: str
    package_name: str
    original_file_path: str = ""
    database: str | None = None
    schema_: str | None = Field(default=None, alias="schema")
    identifier: str
    relation_name: str | None = None
    description: str = ""
    source_description: str = ""
    loader: str = ""
    columns: dict[str, Column] = Field(default_factory=dict)
    meta: dict[str, Any] = Field(default_factory=dict)
    tags: tuple[str, ...] = ()
    doc_blocks: tuple[str, ...] = ()


class Owner(_Model):
    name: str | None = None
    email: str | None = None


class Exposure(_Model):
    unique_id: str
    name: str
    type: str
    package_name: str
    label: str | None = None
    description: str = ""
    url: str | None = None
    maturity: str | None = None
    owner: Owner = Owner()
    depends_on: DependsOn = DependsOn()
    meta: dict[str, Any] = Field(default_factory=dict)
    tags: tuple[str, ...] = ()


class Doc(_Model):
    unique_id: str
    name: str
    package_name: str
    block_contents: str = ""


class ManifestMetadata(_Model):
    dbt_schema_version: str
    dbt_version: str = ""
    project_name: str | None = None
    adapter_type: str | None = None


class Manifest(_Model):
    metadata: ManifestMetadata
    nodes: dict[str, Node] = Field(default_factory=dict)
    sources: dict[str, Source] = Field(default_factory=dict)
    exposures: dict[str, Exposure] = Field(default_factory=dict)
    docs: dict[str, Doc] = Field(default_factory=dict)

    @property
    def schema_version(self) -> int:
        match = _SCHEMA_VERSION.search(self.metadata.dbt_schema_version)
        return int(match.group(1)) if match else 0


class CatalogColumn(_Model):
    name: str
    type: str | None = None
    index: int | None = None
    comment: str | None = None


class CatalogTable(_Model):
    unique_id: str | None = None
    columns: dict[str, CatalogColumn] = Field(default_factory=dict)


class Catalog(_Model):
    """`catalog.json` (`dbt docs generate`): the warehouse's own column types for nodes and sources."""

    nodes: dict[str, CatalogTable] = Field(default_factory=dict)
    sources: dict[str, CatalogTable] = Field(default_factory=dict)

    def table(self, unique_id: str) -> CatalogTable | None:
        return self.nodes.get(unique_id) or self.sources.get(unique_id)


def parse_manifest(text: bytes, location: str) -> Manifest:
    """The manifest, or InvalidArtifact saying what is wrong with it (and which versions are read)."""
    try:
        manifest = Manifest.model_validate_json(text)
    except ValidationError as error:
        raise InvalidArtifact(f"{location} is not a dbt manifest: {_first_problem(error)}") from None
    version = manifest.schema_version
    if version < OLDEST_MANIFEST_VERSION:
        raise InvalidArtifact(
            f"{location} is a dbt manifest of schema {manifest.metadata.dbt_schema_version!r}"
            f" (dbt {manifest.metadata.dbt_version or 'unknown'}); schema v{OLDEST_MANIFEST_VERSION} (dbt 1.8)"
            " and later are supported: run the project with dbt 1.8 or later"
        )
    return manifest


def parse_catalog(text: bytes, location: str) -> Catalog:
    try:
        return Catalog.model_validate_json(text)
    except ValidationError as error:
        raise InvalidArtifact(f"{location} is not a dbt catalog: {_first_problem(error)}") from None


def _first_problem(error: ValidationError) -> str:
    problem = error.errors()[0]
    where = ".".join(str(part) for part in problem["loc"])
    return f"{where}: {problem['msg']}" if where else problem["msg"]
