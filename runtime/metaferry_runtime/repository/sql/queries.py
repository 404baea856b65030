"""Statement builders for retrieval (search, type with subtypes, zone, paging, relationships).

Kept apart from the transaction so the write path reads as the semantics and this as the SQL. The zone
filter is the one backend-specific part: JSONB containment on PostgreSQL, json_each on SQLite.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import (
    Select,
    String,
    Text,
    and_,
    any_,
    bindparam,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    type_coerce,
    union_all,
    update,
)
from sqlalchemy.sql.dml import Update
from sqlalchemy.sql.elements import ColumnElement

from metaferry_runtime.repository.model import Page
from metaferry_runtime.repository.sql.codec import dumps
from metaferry_runtime.repository.sql.records import ACTIVE
from metaferry_runtime.repository.sql.schema import elements, relationships

DEFAULT_PAGE = Page()


def like_pattern(search_string: str) -> str:
    escaped = search_string.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def zone_filter(zone: str, *, postgresql: bool) -> ColumnElement[bool]:
    if postgresql:
        from sqlalchemy.dialects.postgresql import JSONB  # only here: see schema.Json

        return type_coerce(elements.c.zones, JSONB).contains([zone])
    return exists(
        select(literal(1))
        .select_from(text("json_each(elements.zones)"))
        .where(text("json_each.value = :zone").bindparams(bindparam("zone", zone)))
    )


def classification_filter(classification: str, *, postgresql: bool) -> ColumnElement[bool]:
    """Elements carrying a classification of this name (`classifications` is a JSON object keyed by name)."""
    if postgresql:
        from sqlalchemy.dialects.postgresql import JSONB  # only here: see schema.Json

        carries: ColumnElement[bool] = type_coerce(elements.c.classifications, JSONB).has_key(classification)
        return carries
    return exists(
        select(literal(1))
        .select_from(text("json_each(elements.classifications) AS classification_names"))
        .where(
            text("classification_names.key = :classification").bindparams(bindparam("classification", classification))
        )
    )


def in_text_list(column: ColumnElement[str], parameter: str, *, postgresql: bool) -> ColumnElement[bool]:
    """`column IN (the strings bound as :parameter)`, with one parameter however many strings there are
    (see `text_list`). Why: an IN list of thousands of placeholders is compiled, parsed by the driver and
    bound anew for every statement, which cost more than the statement's own work. PostgreSQL:
    `= ANY(array)`; SQLite: the members of a JSON array, by json_each."""
    if postgresql:
        from sqlalchemy.dialects.postgresql import ARRAY  # only here: see schema.Json

        return column == any_(bindparam(parameter, type_=ARRAY(String)))
    members: Select[tuple[Any]] = select(literal_column("value")).select_from(
        func.json_each(bindparam(parameter, type_=Text))
    )
    return column.in_(members.scalar_subquery())


def update_elements_in_text_list(column: ColumnElement[str], parameter: str, *, postgresql: bool) -> Update:
    """`UPDATE` of the elements whose `column` is one of the strings bound as :parameter (see `text_list`).
    Why not `in_text_list` on SQLite: `IN (SELECT value FROM json_each(...))` builds a temporary index of
    the strings and then looks each row up through it; joining json_each (`UPDATE ... FROM`, SQLite 3.33)
    walks the strings and the column's index together, and took half the time for a refresh's observed
    elements."""
    if postgresql:
        return update(elements).where(in_text_list(column, parameter, postgresql=True))
    members = func.json_each(bindparam(parameter, type_=Text)).table_valued("value")
    return update(elements).where(column == members.c.value)


def text_list(values: Sequence[str], *, postgresql: bool) -> Any:
    """The value to bind to the parameter of `in_text_list`."""
    return list(values) if postgresql else dumps(list(values))


def paged(query: Select, page: Page | None) -> Select:  # type: ignore[type-arg]
    page = page or DEFAULT_PAGE
    return query.offset(page.start_from).limit(page.page_size)


def find_elements(
    *,
    search_string: str | None,
    type_names: Collection[str] | None,
    metadata_collection: str | None,
    zone: str | None,
    include_archived: bool,
    page: Page | None,
    postgresql: bool,
    columns: Sequence[ColumnElement[Any]],
    classification: str | None = None,
) -> Select:  # type: ignore[type-arg]
    query = select(*columns)
    if search_string:
        query = query.where(elements.c.search_text.like(like_pattern(search_string), escape="\\"))
    if type_names is not None:
        query = query.where(elements.c.type_name.in_(sorted(type_names)))
    if metadata_collection is not None:
        query = query.where(elements.c.metadata_collection == metadata_collection)
    if zone is not None:
        query = query.where(zone_filter(zone, postgresql=postgresql))
    if classification is not None:
        query = query.where(classification_filter(classification, postgresql=postgresql))
    if not include_archived:
        query = query.where(elements.c.status == ACTIVE)
    return paged(query.order_by(elements.c.qualified_name), page)


def relationships_of(
    guid: str, *, type_name: str | None, page: Page | None, columns: Sequence[ColumnElement[Any]]
) -> Select:  # type: ignore[type-arg]
    """Relationships with `guid` at either end whose both ends are active."""
    end1 = elements.alias("end1")
    end2 = elements.alias("end2")
    query = (
        select(*columns)
        .join(end1, end1.c.guid == relationships.c.end1_guid)
        .join(end2, end2.c.guid == relationships.c.end2_guid)
        .where(or_(relationships.c.end1_guid == guid, relationships.c.end2_guid == guid))
        .where(and_(end1.c.status == ACTIVE, end2.c.status == ACTIVE))
    )
    if type_name is not None:
        query = query.where(relationships.c.type_name == type_name)
    return paged(query.order_by(relationships.c.create_time, relationships.c.guid), page)


def related_elements(
    guid: str,
    *,
    relationship_type: str | None,
    at_end: int | None,
    page: Page | None,
    columns: Sequence[ColumnElement[Any]],
) -> Select:  # type: ignore[type-arg]
    """Active elements at the other end of `guid`'s relationships; `at_end` is the end `guid` must be at."""
    others = []
    if at_end in (None, 1):
        q = select(relationships.c.end2_guid.label("other")).where(relationships.c.end1_guid == guid)
        if relationship_type is not None:
            q = q.where(relationships.c.type_name == relationship_type)
        others.append(q)
    if at_end in (None, 2):
        q = select(relationships.c.end1_guid.label("other")).where(relationships.c.end2_guid == guid)
        if relationship_type is not None:
            q = q.where(relationships.c.type_name == relationship_type)
        others.append(q)
    ends = union_all(*others).subquery() if len(others) > 1 else others[0].subquery()
    query = (
        select(*columns)
        .where(elements.c.guid.in_(select(ends.c.other)))
        .where(elements.c.status == ACTIVE)
        .order_by(elements.c.qualified_name)
    )
    return paged(query, page)


def count_all(query: Select) -> Select:  # type: ignore[type-arg]
    return select(func.count()).select_from(query.subquery())
