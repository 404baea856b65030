"""The SQL backend's hand-written event JSON and its derived row layouts, checked against the models.

records.element_json and relationship_json write an event's JSON directly from a record snapshot (for
speed), and every row order is derived from the records' field lists: these properties say that what
they write is what the models say, for any values the repository can store.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from metaferry_runtime.repository.model import Element, Relationship
from metaferry_runtime.repository.sql import bulk
from metaferry_runtime.repository.sql.records import (
    ELEMENT,
    ELEMENT_INSERT_COLUMNS,
    RELATIONSHIP_INSERT_COLUMNS,
    ElementRecord,
    RelationshipRecord,
    element_json,
    relationship_json,
)
from metaferry_runtime.repository.sql.schema import elements, relationships

texts = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=12)  # what JSON can carry
optional_texts = st.none() | texts
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | texts
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3)
)
properties = st.dictionaries(texts, json_values, max_size=4)
times = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC))
statuses = st.sampled_from(["ACTIVE", "ARCHIVED"])
versions = st.integers(min_value=1, max_value=2**31)
curations = st.dictionaries(
    texts, st.builds(lambda curator, time: {"curator": curator, "time": time.isoformat()}, texts, times), max_size=3
)

element_records = st.builds(
    ElementRecord,
    guid=texts,
    type_name=texts,
    qualified_name=texts,
    loaded_properties=properties,
    curated=properties,
    classifications=st.dictionaries(texts, properties, max_size=3),
    zones=st.lists(texts, max_size=3),
    collection=texts,
    status=statuses,
    version=versions,
    create_time=times,
    update_time=times,
    created_by_refresh=optional_texts,
    last_refresh_id=optional_texts,
    last_observed_time=st.none() | times,
    curations=curations,
)
relationship_records = st.builds(
    RelationshipRecord,
    guid=texts,
    type_name=texts,
    end1_guid=texts,
    end2_guid=texts,
    properties=properties,
    collection=texts,
    status=statuses,
    version=versions,
    create_time=times,
    update_time=times,
    created_by_refresh=optional_texts,
    last_refresh_id=optional_texts,
)


@given(element_records)
def test_element_event_json_is_the_models_json(record: ElementRecord) -> None:
    text = element_json(record.snapshot(), datetime.isoformat)
    assert Element.model_validate_json(text) == record.model()
    assert list(json.loads(text)) == list(Element.model_fields)


@given(element_records)
def test_element_event_json_with_the_kept_properties_text_is_the_same(record: ElementRecord) -> None:
    record.properties_json()
    state = record.snapshot()
    kept = record.properties_json_of(state)
    assert kept is not None
    assert element_json(state, datetime.isoformat, kept) == element_json(state, datetime.isoformat)


@given(relationship_records)
def test_relationship_event_json_is_the_models_json(record: RelationshipRecord) -> None:
    text = relationship_json(record.snapshot(), datetime.isoformat)
    assert Relationship.model_validate_json(text) == record.model()
    assert list(json.loads(text)) == list(Relationship.model_fields)


@given(element_records)
def test_an_element_inserted_into_sqlite_reads_back_as_itself(record: ElementRecord) -> None:
    inserted = record.insert_tuple(bulk._sqlite_time_or_none)
    read = ElementRecord.from_row(inserted[: len(ELEMENT.columns)])  # all but search_text, which is last
    assert read.stored_properties_text() == record.properties_json()  # kept as text until first used
    assert read.model() == record.model()
    assert read.db_version == record.version


@given(relationship_records)
def test_a_relationship_inserted_into_sqlite_reads_back_as_itself(record: RelationshipRecord) -> None:
    read = RelationshipRecord.from_row(record.insert_tuple(bulk._sqlite_time_or_none))
    assert read.model() == record.model()
    assert (read.created_by_refresh, read.last_refresh_id, read.db_version) == (
        record.created_by_refresh,
        record.last_refresh_id,
        record.version,
    )


@given(element_records)
def test_an_elements_update_row_has_every_column(record: ElementRecord) -> None:
    row = record.row()
    assert set(row) == {column.name for column in elements.c}
    assert row["properties"] == record.properties and row["metadata_collection"] == record.collection


def test_the_layouts_name_every_column_of_their_tables() -> None:
    assert sorted(ELEMENT_INSERT_COLUMNS) == sorted(column.name for column in elements.c)
    assert sorted(RELATIONSHIP_INSERT_COLUMNS) == sorted(column.name for column in relationships.c)
