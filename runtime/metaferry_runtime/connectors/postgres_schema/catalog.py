"""Reading a PostgreSQL database's catalogue: five set-based queries on pg_catalog, in one snapshot.

Why pg_catalog and not information_schema: information_schema's views join dozens of catalog tables and
check privileges row by row; on PostgreSQL 15 its columns view alone takes seconds on a 1,000-table
schema. These queries read the whole schema set at once (never a query per table) and join
pg_description directly instead of calling col_description() per column.

The caller runs them inside one READ ONLY REPEATABLE READ transaction, so a refresh sees one consistent
schema even while DDL runs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg

from metaferry_runtime.connectors.postgres_schema.settings import PostgresSchemaSettings
from metaferry_runtime.sdk.relational import (
    ColumnDefinition,
    DatabaseDefinition,
    ForeignKeyDefinition,
    SchemaDefinition,
    TableDefinition,
    TableFilters,
    TableKind,
)

KINDS = {
    "r": TableKind.TABLE,
    "v": TableKind.VIEW,
    "m": TableKind.MATERIALIZED_VIEW,
    "p": TableKind.PARTITIONED_TABLE,
    "f": TableKind.FOREIGN_TABLE,
}

DATABASE_SQL = """
select current_database(), current_setting('server_version'), shobj_description(d.oid, 'pg_database')
from pg_database d where d.datname = current_database()
"""

SCHEMAS_SQL = """
select n.nspname, ds.description, pg_get_userbyid(n.nspowner)
from pg_namespace n
left join pg_description ds on ds.objoid = n.oid and ds.classoid = 'pg_namespace'::regclass and ds.objsubid = 0
where n.nspname <> all(%(excluded)s)
  and n.nspname !~ '^pg_(toast_)?temp_'
  and (cardinality(%(wanted)s::text[]) = 0 or n.nspname = any(%(wanted)s))
order by n.nspname
"""

RELATIONS_SQL = """
select c.oid, n.nspname, c.relname, c.relkind, c.relispartition, ds.description,
       case when c.relkind in ('v', 'm') then pg_get_viewdef(c.oid) end,
       pg_get_userbyid(c.relowner),
       (select p.relname from pg_inherits i join pg_class p on p.oid = i.inhparent
        where i.inhrelid = c.oid and c.relispartition limit 1)
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
left join pg_description ds on ds.objoid = c.oid and ds.classoid = 'pg_class'::regclass and ds.objsubid = 0
where c.relkind in ('r', 'v', 'm', 'p', 'f') and n.nspname = any(%(schemas)s)
order by n.nspname, c.relname
"""

COLUMNS_SQL = """
select a.attrelid, a.attname, a.attnum, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid), ds.description, a.atttypmod, t.typname, t.typcategory
from pg_attribute a
join pg_class c on c.oid = a.attrelid
join pg_namespace n on n.oid = c.relnamespace
join pg_type t on t.oid = a.atttypid
left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
left join pg_description ds on ds.objoid = a.attrelid and ds.classoid = 'pg_class'::regclass
     and ds.objsubid = a.attnum
where a.attnum > 0 and not a.attisdropped
  and c.relkind in ('r', 'v', 'm', 'p', 'f') and n.nspname = any(%(schemas)s)
order by a.attrelid, a.attnum
"""

CONSTRAINTS_SQL = """
select con.conrelid, con.contype, con.conname,
       array(select a.attname from unnest(con.conkey) with ordinality k(num, ord)
             join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.num order by k.ord),
       fn.nspname, fc.relname,
       array(select a.attname from unnest(con.confkey) with ordinality k(num, ord)
             join pg_attribute a on a.attrelid = con.confrelid and a.attnum = k.num order by k.ord)
from pg_constraint con
join pg_class c on c.oid = con.conrelid
join pg_namespace n on n.oid = c.relnamespace
left join pg_class fc on fc.oid = con.confrelid
left join pg_namespace fn on fn.oid = fc.relnamespace
where con.contype in ('p', 'f') and n.nspname = any(%(schemas)s)
  -- a key referencing a partitioned table has a derived copy per partition on the same table: not a key
  and not exists (select 1 from pg_constraint parent where parent.oid = con.conparentid
                  and parent.conrelid = con.conrelid)
order by con.conrelid, con.conname
"""


class MissingSchemas(Exception):
    """Schemas named as catalog targets do not exist (or are not visible to the user)."""

    def __init__(self, missing: Sequence[str]) -> None:
        super().__init__(", ".join(missing))
        self.missing = tuple(missing)


def _length_and_precision(type_name: str, category: str, typmod: int) -> tuple[int | None, int | None]:
    """atttypmod decoded as PostgreSQL does: varchar(n)/char(n) -> n + 4; numeric(p, s) -> (p << 16 | s) + 4."""
    if typmod < 0:
        return None, None
    if category == "S" and type_name in ("varchar", "bpchar"):
        return typmod - 4, None
    if type_name == "numeric":
        return None, ((typmod - 4) >> 16) & 0xFFFF
    if type_name in ("bit", "varbit"):
        return typmod, None
    return None, None


def read_catalog(
    cursor: psycopg.Cursor[Any],
    settings: PostgresSchemaSettings,
    *,
    schemas: Sequence[str],
    instance: str,
    filters: Mapping[str, TableFilters] | None = None,
) -> DatabaseDefinition:
    """The catalogue of `schemas` (every schema not excluded when empty) and the tables selected by the
    schema's own `filters` (a catalog target's), else by `settings`, read with the cursor's transaction (the
    caller's snapshot). Raises MissingSchemas for a named schema that does not exist."""
    filters = filters or {}
    cursor.execute(DATABASE_SQL)
    database_row = cursor.fetchone()
    assert database_row is not None
    database_name, version, database_comment = database_row

    cursor.execute(SCHEMAS_SQL, {"excluded": list(settings.exclude_schemas), "wanted": list(schemas)})
    found = tuple(SchemaDefinition(name, description, owner) for name, description, owner in cursor.fetchall())
    found_names = {schema.name for schema in found}
    missing = [name for name in schemas if name not in found_names]
    if missing:
        raise MissingSchemas(missing)
    schema_names = [schema.name for schema in found]

    cursor.execute(RELATIONS_SQL, {"schemas": schema_names})
    relations = [
        row
        for row in cursor.fetchall()
        if filters.get(row[1], settings).wants(row[1], row[2]) and (settings.include_partitions or not row[4])
    ]
    wanted = {row[0] for row in relations}

    columns: dict[int, list[ColumnDefinition]] = defaultdict(list)
    cursor.execute(COLUMNS_SQL, {"schemas": schema_names})
    for oid, name, number, data_type, not_null, default, description, typmod, type_name, category in cursor:
        if oid in wanted:
            length, precision = _length_and_precision(type_name, category, typmod)
            columns[oid].append(
                ColumnDefinition(
                    name=name,
                    position=number,
                    data_type=data_type,
                    is_nullable=not not_null,
                    default=default,
                    description=description,
                    length=length,
                    precision=precision,
                )
            )

    primary_keys: dict[int, tuple[str, tuple[str, ...]]] = {}
    foreign_keys: dict[int, list[ForeignKeyDefinition]] = defaultdict(list)
    cursor.execute(CONSTRAINTS_SQL, {"schemas": schema_names})
    for oid, kind, name, keys, referenced_schema, referenced_table, referenced_keys in cursor:
        if oid not in wanted:
            continue
        if kind == "p":
            primary_keys[oid] = (name, tuple(keys))
        else:
            foreign_keys[oid].append(
                ForeignKeyDefinition(name, tuple(keys), referenced_schema, referenced_table, tuple(referenced_keys))
            )

    tables = []
    for oid, schema, name, relkind, is_partition, description, view_definition, owner, parent in relations:
        key_name, key = primary_keys.get(oid, (None, ()))
        extra = {"owner": owner}
        if parent is not None:
            extra["partitionOf"] = parent
        tables.append(
            TableDefinition(
                schema=schema,
                name=name,
                kind=TableKind.PARTITION if is_partition else KINDS[relkind],
                columns=tuple(columns.get(oid, ())),
                description=description,
                formula=view_definition.strip() if view_definition else None,
                primary_key_name=key_name,
                primary_key=key,
                foreign_keys=tuple(foreign_keys.get(oid, ())),
                extra=extra,
            )
        )
    return DatabaseDefinition(
        name=database_name,
        database_type="PostgreSQL",
        version=version,
        instance=instance,
        schemas=found,
        tables=tuple(tables),
        description=database_comment,
        deployed_implementation_type="PostgreSQL Relational Database",
    )
