"""The grafana-dashboards connector's configuration properties."""

from __future__ import annotations

from pydantic import Field, StrictBool

from metaferry_runtime.sdk import ConnectorConfiguration


class GrafanaDashboardsSettings(ConnectorConfiguration):
    """How dashboards are fetched, and which database each SQL data source reads (to link queries to tables)."""

    timeout_seconds: float = Field(default=30.0, gt=0, le=600, description="seconds per HTTP request, up to 600")
    max_dashboard_megabytes: int = Field(default=50, ge=1, description="largest dashboard read, in MB")
    page_size: int = Field(default=1000, ge=1, le=5000, description="dashboards per /api/search page, 1 to 5000")
    ca_file: str | None = Field(default=None, description="a PEM file of the CAs that sign Grafana's certificate")
    verify_tls: StrictBool = Field(default=True, description="true or false: check Grafana's certificate")
    datasources: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "data source uid or name -> the qualified name of the database it reads, as the database connector"
            " names it (postgres://host:port/db, sqlite:///path/file.db); overrides what the Grafana API says"
        ),
    )
    datasource_files: tuple[str, ...] = Field(
        default=(),
        description="Grafana provisioning files of data sources (provisioning/datasources/*.yaml) to read them from",
    )
    read_datasources: StrictBool = Field(
        default=True,
        description="true or false: read /api/datasources (needs a token that may read them) to find the databases",
    )
