"""What the connector reads of a dashboard, whichever JSON shape it came in (`reading.py`) and wherever from."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class DatasourceRef(BaseModel):
    """A data source as a panel or target names it: by uid and type (Grafana 8+), or by name (older)."""

    model_config = ConfigDict(frozen=True)

    uid: str | None = None
    name: str | None = None
    type: str | None = None

    def label(self) -> str:
        return self.uid or self.name or self.type or "default"


class QueryDefinition(BaseModel):
    """One target of a panel: the expression it runs against its data source."""

    model_config = ConfigDict(frozen=True)

    ref_id: str
    expression: str | None
    #: The target's field the expression came from (`expr`, `rawSql`, `query`...), and its language.
    expression_field: str | None
    language: str | None
    datasource: DatasourceRef | None
    hidden: bool = False


class PanelDefinition(BaseModel):
    """A panel or a row: `key` names it within the dashboard (`panel:<id>`, `row:<id>`), `row` its row's key."""

    model_config = ConfigDict(frozen=True)

    key: str
    title: str
    panel_type: str
    position: int
    description: str | None = None
    row: str | None = None
    collapsed: bool = False
    datasource: DatasourceRef | None = None
    library_panel: str | None = None
    queries: tuple[QueryDefinition, ...] = ()

    @property
    def is_row(self) -> bool:
        return self.panel_type == "row"


class DashboardDefinition(BaseModel):
    """A dashboard: its identity (`uid`), where it lives (folder, url) and its panels in order."""

    model_config = ConfigDict(frozen=True)

    uid: str | None
    title: str
    description: str | None = None
    tags: tuple[str, ...] = ()
    version: int | None = None
    schema_version: int | None = None
    folder: str | None = None
    folder_uid: str | None = None
    url: str | None = None
    created: str | None = None
    updated: str | None = None
    created_by: str | None = None
    updated_by: str | None = None
    panels: tuple[PanelDefinition, ...] = ()
