"""Reading a dashboard's JSON into a `DashboardDefinition`, in both shapes Grafana has written:

- before schema version 16, `rows`, each with its `panels` (and `collapse`);
- since, one flat `panels` list in which a panel of `type: row` starts a row: the panels after it belong to
  it until the next row, and a collapsed row holds its panels inside itself (`panels` of the row panel).

A file may hold the dashboard itself (as Grafana provisions it) or the API's `{"dashboard": ..., "meta": ...}`.
Data sources are named by uid and type (`{"type": "postgres", "uid": "..."}`), by name (a string), through
a dashboard variable (`$datasource`) or an export input (`${DS_PROMETHEUS}`, declared in `__inputs`): each
is resolved as far as the dashboard says. Anything else that breaks the shape fails this dashboard alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from metaferry_runtime.connectors.grafana_dashboards.model import (
    DashboardDefinition,
    DatasourceRef,
    PanelDefinition,
    QueryDefinition,
)

#: A target's fields that hold its expression, in the order they are looked for.
EXPRESSION_FIELDS = ("expr", "rawSql", "query", "expression", "target", "rawQuery", "queryText")
#: The language of an expression by its field, then by the data source's type where the field says too little.
LANGUAGES_BY_FIELD = {"rawSql": "SQL", "target": "Graphite", "expression": "Expression"}
LANGUAGES_BY_TYPE = {
    "prometheus": "PromQL",
    "loki": "LogQL",
    "influxdb": "InfluxQL",
    "elasticsearch": "Lucene",
    "tempo": "TraceQL",
    "graphite": "Graphite",
    "postgres": "SQL",
    "grafana-postgresql-datasource": "SQL",
    "mysql": "SQL",
    "mssql": "SQL",
    "frser-sqlite-datasource": "SQL",
    "grafana-clickhouse-datasource": "SQL",
}
#: When the data source's type is not known: `expr` is most often PromQL (Loki's targets say their type).
LANGUAGES_BY_FIELD_ALONE = {"expr": "PromQL"}
_VARIABLE = re.compile(r"^\$\{?([A-Za-z0-9_]+)(?::[a-z]+)?\}?$|^\[\[([A-Za-z0-9_]+)\]\]$")
_SPECIAL_DATASOURCES = {"-- Mixed --": "mixed", "-- Grafana --": "grafana", "-- Dashboard --": "dashboard"}


class DashboardUnreadable(ValueError):
    """The JSON is not a dashboard this connector can read; the message says what is wrong."""


def unwrap(document: Any) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """(dashboard, meta) of a document: the dashboard itself, or the API's envelope around it."""
    if not isinstance(document, Mapping):
        raise DashboardUnreadable("the top level is not a JSON object")
    inner = document.get("dashboard")
    if isinstance(inner, Mapping):
        meta = document.get("meta")
        return inner, meta if isinstance(meta, Mapping) else {}
    return document, {}


def read_dashboard(
    document: Any,
    *,
    folder: str | None = None,
    url: str | None = None,
    libraries: Mapping[str, Mapping[str, Any]] | None = None,
) -> DashboardDefinition:
    """The dashboard a document holds; `folder` and `url` are what the source knows when the JSON does not.
    Whatever the JSON holds, the answer is a dashboard or DashboardUnreadable, never another error: one odd
    dashboard must not fail a refresh. `libraries` are the models of the library panels it uses (by uid):
    a dashboard holds only a stub of each (`libraryPanel`, `gridPos`), its targets are in the model."""
    try:
        return _read(document, folder=folder, url=url, libraries=libraries or {})
    except DashboardUnreadable:
        raise
    except (TypeError, ValueError, AttributeError, KeyError) as error:  # a shape the checks above did not foresee
        raise DashboardUnreadable(f"unexpected shape: {type(error).__name__}: {str(error)[:160]}") from None


def _read(
    document: Any, *, folder: str | None, url: str | None, libraries: Mapping[str, Mapping[str, Any]]
) -> DashboardDefinition:
    dashboard, meta = unwrap(document)
    if "panels" not in dashboard and "rows" not in dashboard:
        raise DashboardUnreadable("no panels or rows: not a Grafana dashboard")
    title = dashboard.get("title")
    if not isinstance(title, str) or not title.strip():
        raise DashboardUnreadable("the dashboard has no title")
    resolver = _Resolver(dashboard, libraries)
    panels = list(_panels(dashboard, resolver))
    tags = dashboard.get("tags") or []
    if not isinstance(tags, list):
        raise DashboardUnreadable("tags is not a list")
    return DashboardDefinition(
        uid=_text(dashboard.get("uid")),
        title=title.strip(),
        description=_text(dashboard.get("description")),
        tags=tuple(str(tag) for tag in tags),
        version=_integer(dashboard.get("version")),
        schema_version=_integer(dashboard.get("schemaVersion")),
        folder=_text(meta.get("folderTitle")) or folder,
        folder_uid=_text(meta.get("folderUid")),
        url=url,
        created=_text(meta.get("created")),
        updated=_text(meta.get("updated")),
        created_by=_text(meta.get("createdBy")),
        updated_by=_text(meta.get("updatedBy")),
        panels=tuple(_unique_keys(panels)),
    )


def _panels(dashboard: Mapping[str, Any], resolver: _Resolver) -> Iterator[PanelDefinition]:
    position = 0
    rows = dashboard.get("rows")
    if isinstance(rows, list) and rows:  # the shape before schema version 16
        for index, row in enumerate(rows, start=1):
            row = _object(row, f"rows[{index - 1}]")
            old_row = f"row:{index}"
            position += 1
            yield PanelDefinition(
                key=old_row,
                title=_text(row.get("title")) or f"Row {index}",
                panel_type="row",
                position=position,
                collapsed=bool(row.get("collapse")),
            )
            for panel in _list(row.get("panels"), f"rows[{index - 1}].panels"):
                position += 1
                yield _panel(_object(panel, "a row's panel"), position=position, row=old_row, resolver=resolver)
    row_key: str | None = None
    for index, panel in enumerate(_list(dashboard.get("panels"), "panels")):
        panel = _object(panel, f"panels[{index}]")
        position += 1
        if panel.get("type") == "row":
            current = _panel(panel, position=position, row=None, resolver=resolver)
            row_key = current.key
            yield current
            for nested in _list(panel.get("panels"), f"panels[{index}].panels"):  # a collapsed row's panels
                position += 1
                yield _panel(_object(nested, "a row's panel"), position=position, row=row_key, resolver=resolver)
        else:
            yield _panel(panel, position=position, row=row_key, resolver=resolver)


def _panel(panel: Mapping[str, Any], *, position: int, row: str | None, resolver: _Resolver) -> PanelDefinition:
    panel = resolver.library_model(panel)
    panel_type = _text(panel.get("type")) or "unknown"
    identifier = panel.get("id")
    kind = "row" if panel_type == "row" else "panel"
    key = f"{kind}:{identifier}" if isinstance(identifier, int | str) and str(identifier) else f"{kind}:p{position}"
    datasource = resolver.reference(panel.get("datasource"))
    library = panel.get("libraryPanel")
    queries = []
    for index, target in enumerate(_list(panel.get("targets"), f"{key}.targets")):
        target = _object(target, f"{key}.targets[{index}]")
        queries.append(_query(target, index=index, panel_datasource=datasource, resolver=resolver))
    return PanelDefinition(
        key=key,
        title=_text(panel.get("title")) or ("Row" if kind == "row" else f"Panel {identifier or position}"),
        panel_type=panel_type,
        position=position,
        description=_text(panel.get("description")),
        row=row,
        collapsed=bool(panel.get("collapsed")),
        datasource=datasource,
        library_panel=_text(library.get("uid")) or _text(library.get("name")) if isinstance(library, Mapping) else None,
        queries=tuple(_unique_ref_ids(queries)),
    )


def _query(
    target: Mapping[str, Any], *, index: int, panel_datasource: DatasourceRef | None, resolver: _Resolver
) -> QueryDefinition:
    datasource = resolver.reference(target.get("datasource"))
    if datasource is None or datasource.type == "mixed" or (datasource.uid is None and datasource.name is None):
        datasource = _merged(datasource, panel_datasource)
    field, expression = next(
        ((name, value) for name in EXPRESSION_FIELDS if isinstance(value := target.get(name), str) and value.strip()),
        (None, None),
    )
    kind = (datasource.type if datasource else None) or ""
    language = LANGUAGES_BY_FIELD.get(field or "") or LANGUAGES_BY_TYPE.get(kind)
    if language is None and not kind:
        language = LANGUAGES_BY_FIELD_ALONE.get(field or "")
    return QueryDefinition(
        ref_id=_text(target.get("refId")) or _letters(index),
        expression=expression,
        expression_field=field,
        language=language if expression is not None else None,
        datasource=datasource,
        hidden=bool(target.get("hide")),
    )


class _Resolver:
    """Resolves data source references through the dashboard's datasource variables and export inputs."""

    def __init__(self, dashboard: Mapping[str, Any], libraries: Mapping[str, Mapping[str, Any]]) -> None:
        self._libraries = libraries
        self._variables: dict[str, DatasourceRef] = {}
        templating = dashboard.get("templating")
        entries = templating.get("list") if isinstance(templating, Mapping) else None
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, Mapping) and entry.get("type") == "datasource" and isinstance(entry.get("name"), str):
                current = entry.get("current")
                value = current.get("value") if isinstance(current, Mapping) else None
                text = current.get("text") if isinstance(current, Mapping) else None
                self._variables[entry["name"]] = DatasourceRef(
                    uid=_text(value) if not _is_variable(value) else None,
                    name=_text(text) if not _is_variable(text) else None,
                    type=_text(entry.get("query")),
                )
        inputs = dashboard.get("__inputs")
        for entry in inputs if isinstance(inputs, list) else []:
            if isinstance(entry, Mapping) and entry.get("type") == "datasource" and isinstance(entry.get("name"), str):
                self._variables.setdefault(entry["name"], DatasourceRef(type=_text(entry.get("pluginId"))))

    def library_model(self, panel: Mapping[str, Any]) -> Mapping[str, Any]:
        """A library panel's stub laid over its model (the dashboard's id and place win); any other panel as is."""
        library = panel.get("libraryPanel")
        uid = library.get("uid") if isinstance(library, Mapping) else None
        model = self._libraries.get(uid) if isinstance(uid, str) else None
        if model is None:
            return panel
        return {**model, **{key: panel[key] for key in ("id", "gridPos", "libraryPanel") if key in panel}}

    def reference(self, value: Any) -> DatasourceRef | None:
        if value is None:
            return None
        if isinstance(value, str):
            if value in _SPECIAL_DATASOURCES:
                return DatasourceRef(type=_SPECIAL_DATASOURCES[value])
            return self._variable(value) or DatasourceRef(name=value)
        if isinstance(value, Mapping):
            uid, kind = _text(value.get("uid")), _text(value.get("type"))
            if uid in _SPECIAL_DATASOURCES:
                return DatasourceRef(type=_SPECIAL_DATASOURCES[uid])
            variable = self._variable(uid) if uid else None
            if variable is not None:
                return variable if variable.type or not kind else variable.model_copy(update={"type": kind})
            return DatasourceRef(uid=uid, type=kind)
        raise DashboardUnreadable(f"a datasource is neither a name nor an object: {str(value)[:80]}")

    def _variable(self, value: str) -> DatasourceRef | None:
        match = _VARIABLE.match(value)
        if match is None:
            return None
        name = match.group(1) or match.group(2)
        return self._variables.get(name, DatasourceRef())


def _merged(target: DatasourceRef | None, panel: DatasourceRef | None) -> DatasourceRef | None:
    """A target without a data source of its own uses the panel's."""
    if target is None or target.type == "mixed":
        return panel
    if panel is None:
        return target
    return DatasourceRef(uid=panel.uid, name=panel.name, type=target.type or panel.type)


def _unique_keys(panels: list[PanelDefinition]) -> Iterator[PanelDefinition]:
    """Panel ids are meant to be unique in a dashboard, but copied panels sometimes share one."""
    seen: dict[str, int] = {}
    for panel in panels:
        count = seen.get(panel.key, 0)
        seen[panel.key] = count + 1
        yield panel if count == 0 else panel.model_copy(update={"key": f"{panel.key}~{count + 1}"})
    # rows are referred to by key: a duplicated row id keeps the first row's key for its panels


def _unique_ref_ids(queries: list[QueryDefinition]) -> Iterator[QueryDefinition]:
    seen: dict[str, int] = {}
    for query in queries:
        count = seen.get(query.ref_id, 0)
        seen[query.ref_id] = count + 1
        yield query if count == 0 else query.model_copy(update={"ref_id": f"{query.ref_id}~{count + 1}"})


def _letters(index: int) -> str:
    """Grafana's refIds: A, B, ... Z, AA, AB..."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def _is_variable(value: Any) -> bool:
    return isinstance(value, str) and _VARIABLE.match(value) is not None


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise DashboardUnreadable(f"{where} is not an object")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise DashboardUnreadable(f"{where} is not a list")
    return value


def library_panel_uids(document: Any) -> tuple[str, ...]:
    """The uids of the library panels a dashboard uses, in rows, panels and collapsed rows."""
    try:
        dashboard, _ = unwrap(document)
    except DashboardUnreadable:
        return ()
    found: dict[str, None] = {}

    def visit(panels: Any) -> None:
        for panel in panels if isinstance(panels, list) else []:
            if isinstance(panel, Mapping):
                library = panel.get("libraryPanel")
                if isinstance(library, Mapping) and isinstance(library.get("uid"), str):
                    found[library["uid"]] = None
                visit(panel.get("panels"))

    visit(dashboard.get("panels"))
    visit(dashboard.get("rows"))  # a row of the old shape holds its panels as a collapsed row does
    return tuple(found)
