"""Writing a `DashboardDefinition` as Egeria's display service catalogues a report, in the refresh's transaction:

    Report (the dashboard) -AssetSchemaType-> DataContainer (one per row and per panel)
    Report -DashboardQuery-> Query (one per panel target; its expression is the Query's formula)
    RelationalTable -DataFlow-> Query (each table a SQL query reads that a database connector catalogued)

Qualified names come from the target and the dashboard's uid (a file without one: its path below the
directory), so the same dashboard gets the same names on every refresh:

    <root>/dashboards/<uid>                   the Report (root: grafana:<Grafana URL> or grafana:file://<dir>)
    <report>::panel:<id>, <report>::row:<id>  a panel, a row (rows before schema version 16: row:<n>)
    <panel>::query:<refId>                    a target
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from metaferry_runtime.connectors.grafana_dashboards.databases import Databases, table_candidates
from metaferry_runtime.connectors.grafana_dashboards.model import DashboardDefinition, PanelDefinition, QueryDefinition
from metaferry_runtime.connectors.grafana_dashboards.sql import UnparsableSql, tables_read
from metaferry_runtime.sdk import ElementUpsert
from metaferry_runtime.sdk.contexts.display import DisplayIntegratorContext

#: What the connector catalogues, for deletion detection: the dashboards, and what is under one.
REPORT_TYPES = ("Report",)
UNDER_REPORT_TYPES = ("DataContainer", "Query")
#: The additionalProperties key of a Report that holds the digest of the dashboard JSON catalogued.
DIGEST_PROPERTY = "dashboardDigest"


def report_qualified_name(root: str, key: str) -> str:
    return f"{root}/dashboards/{key}"


class QueryTables(BaseModel):
    """A SQL query and the tables it names: for each, the qualified names it may have been catalogued under."""

    model_config = ConfigDict(frozen=True)

    query_guid: str
    candidates: tuple[tuple[str, ...], ...]


@dataclass
class Catalogued:
    """What one dashboard put in the repository: its names (to mark them seen when it is unchanged) and the
    SQL queries' tables (linked again when a database connector catalogues them later)."""

    report: str
    names: list[str] = field(default_factory=list)
    panels: int = 0
    queries: int = 0
    tables: int = 0
    sql: list[QueryTables] = field(default_factory=list)
    unparsed: list[str] = field(default_factory=list)


def catalogue_dashboard(
    context: DisplayIntegratorContext,
    definition: DashboardDefinition,
    *,
    report_name: str,
    digest: str,
    databases: Databases,
) -> Catalogued:
    outcome = Catalogued(report=report_name)
    report, _ = context.upsert_report(report_name, _report_properties(definition, digest))
    outcome.names.append(report_name)
    containers = [
        ElementUpsert(f"{report_name}::{panel.key}", _panel_properties(panel, report_name))
        for panel in definition.panels
    ]
    context.upsert_data_containers(containers, parent_guid=report.guid)
    outcome.names += [container.qualified_name for container in containers]
    outcome.panels = sum(1 for panel in definition.panels if not panel.is_row)
    queries = [
        (panel, query, f"{report_name}::{panel.key}::query:{query.ref_id}")
        for panel in definition.panels
        for query in panel.queries
    ]
    if not queries:
        return outcome
    results = context.upsert_queries(
        [
            ElementUpsert(name, _query_properties(query, panel, f"{report_name}::{panel.key}", databases))
            for panel, query, name in queries
        ]
    )
    context.add_queries_to_display([(report.guid, guid) for guid, _ in results])
    outcome.names += [name for _, _, name in queries]
    outcome.queries = len(queries)
    for (_, query, name), (guid, _) in zip(queries, results, strict=True):
        candidates = _tables_of(query, databases, name, outcome)
        if candidates is not None:
            tables = QueryTables(query_guid=guid, candidates=candidates)
            outcome.sql.append(tables)
            outcome.tables += link_tables(context, tables)
    return outcome


def link_tables(context: DisplayIntegratorContext, tables: QueryTables) -> int:
    """Link the query to each table of it that is catalogued (the first candidate name found), unlink those
    it no longer reads; returns how many it is linked to. Cheap when nothing changed: a look-up per table."""
    wanted: dict[str, None] = {}
    for names in tables.candidates:
        for name in names:
            table = context.get_query_source_by_qualified_name(name)
            if table is not None:
                wanted[table.guid] = None
                break
    held = {source.guid for source in context.get_query_data_sources(tables.query_guid)}
    for guid in wanted:
        if guid not in held:
            context.add_query_data_source(guid, tables.query_guid)
    for guid in held - wanted.keys():
        context.remove_query_data_source(guid, tables.query_guid)
    return len(wanted)


def _tables_of(
    query: QueryDefinition, databases: Databases, name: str, outcome: Catalogued
) -> tuple[tuple[str, ...], ...] | None:
    """The candidate names of the tables a SQL query reads, or None when it is not SQL on a known database."""
    if query.language != "SQL" or query.expression is None:
        return None
    database = databases.database_of(query.datasource)
    if database is None:
        return None
    try:
        references = tables_read(query.expression, datasource_type=databases.type_of(query.datasource))
    except UnparsableSql as error:
        outcome.unparsed.append(f"{name} ({error})")
        return None
    return tuple(table_candidates(database, reference) for reference in references)


def _report_properties(definition: DashboardDefinition, digest: str) -> dict[str, Any]:
    additional = {
        DIGEST_PROPERTY: digest,
        "folder": definition.folder,
        "folderUid": definition.folder_uid,
        "tags": ", ".join(definition.tags) if definition.tags else None,
        "schemaVersion": str(definition.schema_version) if definition.schema_version is not None else None,
    }
    return _without_none(
        name=definition.title,
        displayName=definition.title,
        description=definition.description,
        id=definition.uid,
        url=definition.url,
        versionIdentifier=str(definition.version) if definition.version is not None else None,
        deployedImplementationType="Grafana dashboard",
        author=definition.created_by,
        lastModifier=definition.updated_by,
        createdTime=_timestamp(definition.created),
        lastModifiedTime=_timestamp(definition.updated),
        additionalProperties=_without_none(**additional),
    )


def _panel_properties(panel: PanelDefinition, report_name: str) -> dict[str, Any]:
    additional = {
        "panelType": panel.panel_type,
        "position": str(panel.position),
        "row": f"{report_name}::{panel.row}" if panel.row else None,
        "collapsed": "true" if panel.is_row and panel.collapsed else None,
        "datasource": panel.datasource.label() if panel.datasource else None,
        "libraryPanel": panel.library_panel,
    }
    return _without_none(
        name=panel.title,
        displayName=panel.title,
        description=panel.description,
        usage="row" if panel.is_row else "panel",
        additionalProperties=_without_none(**additional),
    )


def _query_properties(
    query: QueryDefinition, panel: PanelDefinition, panel_name: str, databases: Databases
) -> dict[str, Any]:
    additional = {
        "panel": panel_name,
        "panelTitle": panel.title,
        "datasource": query.datasource.label() if query.datasource else None,
        "expressionField": query.expression_field,
        "hidden": "true" if query.hidden else None,
    }
    return _without_none(
        name=f"{panel.title} {query.ref_id}",
        displayName=f"{panel.title} ({query.ref_id})",
        formula=query.expression,
        formulaType=query.language,
        queryId=query.ref_id,
        queryType=databases.type_of(query.datasource),
        additionalProperties=_without_none(**additional),
    )


def _timestamp(value: str | None) -> str | None:
    """Grafana's ISO 8601 times, kept when they carry a zone (`0001-01-01T00:00:00Z` means none was kept)."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return value if parsed.tzinfo is not None and parsed.year > 1 else None


def _without_none(**properties: Any) -> dict[str, Any]:
    return {key: value for key, value in properties.items() if value is not None}
