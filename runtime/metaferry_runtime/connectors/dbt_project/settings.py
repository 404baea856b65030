"""The dbt-project connector's configuration properties."""

from __future__ import annotations

from pydantic import Field, StrictBool

from metaferry_runtime.sdk import ConnectorConfiguration


class DbtProjectSettings(ConnectorConfiguration):
    """The endpoint names `manifest.json` (or the `target/` directory holding it), as a path or an http(s) URL."""

    catalog: str | None = Field(
        default=None,
        description="where catalog.json is, as a path or URL (default: beside manifest.json)",
    )
    require_catalog: StrictBool = Field(
        default=False,
        description="true or false: fail when catalog.json is missing (else column types come from the manifest)",
    )
    project_name: str | None = Field(
        default=None,
        min_length=1,
        description="the name in qualified names, dbt://<project>/... (default: the manifest's project name)",
    )
    warehouse_namespace: str | None = Field(
        default=None,
        description=(
            "the warehouse as OpenLineage names it and the database connector catalogued it, e.g."
            " postgres://db.example.com:5432 or sqlite:///data/shop.db; sources and models link to its tables"
        ),
    )
    database_names: dict[str, str] = Field(
        default_factory=dict, description="dbt database name -> the warehouse's name for it, where they differ"
    )
    timeout_seconds: float = Field(default=30.0, gt=0, le=600, description="seconds per HTTP request, up to 600")
    verify_tls: StrictBool = Field(default=True, description="true or false: check the server's certificate")
