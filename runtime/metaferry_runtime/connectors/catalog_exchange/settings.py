"""The catalog-exchange connector's configuration properties."""

from __future__ import annotations

from pydantic import Field, StrictBool

from metaferry_runtime.sdk import ConnectorConfiguration


class CatalogExchangeSettings(ConnectorConfiguration):
    """Files to import are the resource's catalogTargets and `importPaths`; `exportPath` is where export writes."""

    export_path: str | None = Field(
        default=None,
        min_length=1,
        description="the file each refresh writes the DataHub MCP JSON to (absent: no export)",
    )
    import_paths: tuple[str, ...] = Field(
        default=(), description="DataHub MCP/MCE JSON files to import, beside catalogTargets"
    )
    environment: str = Field(
        default="PROD", pattern=r"^[A-Z0-9_]+$", description="DataHub's fabric (env) in dataset URNs: PROD, DEV..."
    )
    export_imported: StrictBool = Field(
        default=False, description="true or false: export the elements this connector imported too"
    )
