"""The tables a panel's SQL reads, found with sqlglot (a maintained SQL parser with the dialects Grafana's SQL
data sources speak), so a query is linked to the tables the database connector catalogued.

Grafana's SQL is a template: macros (`$__timeFilter(time)`, `$__timeGroupAlias(time, $__interval)`) and
variables (`$host`, `${host:csv}`, `[[host]]`) are replaced by names that parse before the SQL is read;
they stand for values and expressions, not tables. A table named through a variable (`FROM $table`) is not
known until the query runs, so it is left out. CTE names are not tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, SqlglotError

#: sqlglot's dialect for each SQL data source type Grafana ships or users commonly install.
DIALECTS = {
    "postgres": "postgres",
    "grafana-postgresql-datasource": "postgres",
    "mysql": "mysql",
    "mssql": "tsql",
    "frser-sqlite-datasource": "sqlite",
    "grafana-clickhouse-datasource": "clickhouse",
}
_MACRO = re.compile(r"\$__([A-Za-z0-9_]+)")
_VARIABLE = re.compile(r"\$\{([A-Za-z0-9_]+)[^}]*\}|\$([A-Za-z0-9_]+)|\[\[([A-Za-z0-9_]+)(?::[^\]]*)?\]\]")
_PLACEHOLDER = "__grafana_variable_"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class TableReference:
    """A table as the SQL names it: `table`, `schema.table` or `database.schema.table`; `quoted` when the
    table's name was quoted (so its case is meant as written; an unquoted one may be folded by the database)."""

    name: str
    schema: str | None = None
    database: str | None = None
    quoted: bool = False


class UnparsableSql(ValueError):
    """The SQL could not be read (beyond what Grafana's templating explains)."""


def tables_read(sql: str, *, datasource_type: str | None) -> list[TableReference]:
    """The tables the SQL reads (FROM, JOIN, subqueries), without repeats."""
    text = _VARIABLE.sub(_variable_name, _MACRO.sub(r"__\1", sql))
    dialect = DIALECTS.get(datasource_type or "")
    try:
        statements = sqlglot.parse(text, read=dialect)
    except ParseError as error:
        first = error.errors[0] if error.errors else {}
        where = f" (line {first.get('line')}, column {first.get('col')})" if first.get("line") else ""
        raise UnparsableSql(f"{first.get('description') or 'invalid SQL'}{where}") from None
    except SqlglotError as error:
        raise UnparsableSql(_ANSI.sub("", " ".join(str(error).split()))[:200]) from None
    found: dict[TableReference, None] = {}
    for statement in statements:
        if statement is None:
            continue
        defined = {cte.alias_or_name for cte in statement.find_all(exp.CTE)}
        for table in statement.find_all(exp.Table):
            name = table.name
            if not name or name.startswith(_PLACEHOLDER) or (not table.db and name in defined):
                continue
            if isinstance(table.this, exp.Anonymous | exp.Func):  # a table function: generate_series(...)
                continue
            quoted = isinstance(table.this, exp.Identifier) and bool(table.this.quoted)
            reference = TableReference(
                name=name, schema=table.db or None, database=table.catalog or None, quoted=quoted
            )
            found[reference] = None
    return list(found)


def _variable_name(match: re.Match[str]) -> str:
    return _PLACEHOLDER + (match.group(1) or match.group(2) or match.group(3))
