"""The write path's shortcuts (cheap GUIDs, unchanged upserts without re-validation, set-based checks) keep
the same guarantees as the long way round."""

from __future__ import annotations

import enum
import math
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import event

from metaferry_runtime.repository import ChangeKind, MetadataRepository, NotOwner, TypeErrorInRepository
from metaferry_runtime.repository.sql.codec import new_guid, scalar_properties_json
from tests.repository.conftest import ACTOR, OTHER


def test_guids_are_distinct_version_4_uuids() -> None:
    guids = [new_guid() for _ in range(5000)]
    assert len(set(guids)) == len(guids)
    for guid in guids[::97]:
        parsed = uuid.UUID(guid)
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
        assert str(parsed) == guid


@pytest.mark.parametrize("wrong", [True, 1.5, "12"])
def test_an_unchanged_looking_upsert_with_the_wrong_kind_is_still_refused(
    repository: MetadataRepository, wrong: object
) -> None:
    with repository.transaction(actor=ACTOR) as transaction:
        transaction.upsert_element("DataFile", "file:///size", {"name": "size", "size": 1})
    with pytest.raises(TypeErrorInRepository), repository.transaction(actor=ACTOR) as transaction:
        transaction.upsert_element("DataFile", "file:///size", {"name": "size", "size": wrong})


def test_an_integer_equal_float_is_a_change_not_unchanged(repository: MetadataRepository) -> None:
    with repository.transaction(actor=ACTOR) as transaction:
        transaction.upsert_element("DataFile", "file:///one", {"name": "one", "size": 1})
    with repository.transaction(actor=ACTOR) as transaction:
        _, kind = transaction.upsert_element("DataFile", "file:///one", {"name": "one", "size": 1})
    assert kind is ChangeKind.UNCHANGED
    with pytest.raises(TypeErrorInRepository), repository.transaction(actor=ACTOR) as transaction:
        transaction.upsert_element("DataFile", "file:///one", {"name": "one", "size": 1.0})


def test_ownership_is_checked_for_many_names_at_once(repository: MetadataRepository) -> None:
    names = [f"file:///owned/{index}" for index in range(700)]
    with repository.transaction(actor=ACTOR) as transaction:
        for name in names:
            transaction.upsert_element("DataFile", name, {"name": name})

    def take_over() -> None:
        with repository.transaction(actor=OTHER) as transaction:
            for name in names:
                transaction.upsert_element("DataFile", name, {"name": name, "description": "taken over"})

    with pytest.raises(NotOwner):
        take_over()
    with repository.transaction(actor=ACTOR) as transaction:
        element = transaction.find_element_by_name(names[-1])
    assert element is not None and element.metadata_collection == ACTOR
    assert "description" not in element.properties


def test_events_carry_the_element_as_stored(repository: MetadataRepository) -> None:
    with repository.transaction(actor=ACTOR) as transaction:
        created, _ = transaction.upsert_element(
            "CSVFile", "file:///events.csv", {"name": "events.csv", "columnNames": ["a", "é"], "size": 3}
        )
        transaction.classify_element(created.guid, "Confidentiality", {"level": 2})
    with repository.transaction(actor=ACTOR) as transaction:
        stored = transaction.get_element(created.guid)
    events = [e for e in repository.events_since(0) if e.element is not None and e.element.guid == created.guid]
    assert [e.kind for e in events] == [ChangeKind.ELEMENT_CREATED, ChangeKind.ELEMENT_CLASSIFIED]
    assert events[-1].element is not None
    assert events[-1].element.properties == stored.properties
    assert events[-1].element.classifications == stored.classifications
    assert events[-1].element.version == stored.version


def test_bulk_upserts_do_what_one_upsert_each_does(repository: MetadataRepository) -> None:
    with repository.transaction(actor=ACTOR) as transaction:
        folder, _ = transaction.upsert_element("FileFolder", "file:///bulk", {"name": "bulk"})
        first = transaction.upsert_elements(
            [("CSVFile", "file:///bulk/a.csv", {"name": "a.csv"}), ("DataFile", "file:///bulk/b", {"name": "b"})]
        )
        links = transaction.upsert_relationships([("NestedFile", folder.guid, guid, None) for guid, _ in first])
    assert [change for _, change in first] == [ChangeKind.ELEMENT_CREATED] * 2
    assert [change for _, change in links] == [ChangeKind.RELATIONSHIP_CREATED] * 2
    with repository.transaction(actor=ACTOR, refresh_id="again") as transaction:
        again = transaction.upsert_elements(
            [("CSVFile", "file:///bulk/a.csv", {"name": "a.csv"}), ("DataFile", "file:///bulk/b", {"name": "B"})]
        )
        relinked = transaction.upsert_relationships([("NestedFile", folder.guid, guid, None) for guid, _ in first])
        counts = transaction.counts
        stored = transaction.get_element(first[1][0])
        related = transaction.get_related_elements(folder.guid, relationship_type="NestedFile", at_end=1)
    assert again == [(first[0][0], ChangeKind.UNCHANGED), (first[1][0], ChangeKind.ELEMENT_UPDATED)]
    assert relinked == [(guid, ChangeKind.UNCHANGED) for guid, _ in links]
    assert (counts.unchanged, counts.updated) == (1, 1), "the counts behind the write metrics"
    assert stored.properties == {"name": "B"}
    assert {element.guid for element in related} == {guid for guid, _ in first}


def test_bulk_upserts_refuse_what_another_collection_owns(repository: MetadataRepository) -> None:
    with repository.transaction(actor=OTHER) as transaction:
        transaction.upsert_element("DataFile", "file:///theirs", {"name": "theirs"})
    with pytest.raises(NotOwner), repository.transaction(actor=ACTOR) as transaction:
        transaction.upsert_elements(
            [("DataFile", "file:///mine", {"name": "mine"}), ("DataFile", "file:///theirs", {"name": "mine now"})]
        )
    with repository.transaction(actor=ACTOR) as transaction:
        assert transaction.find_element_by_name("file:///mine") is None, "the transaction rolled back whole"
        theirs = transaction.find_element_by_name("file:///theirs")
    assert theirs is not None and theirs.properties == {"name": "theirs"}


MANY = 100  # more names than a transaction looks up one by one before it loads its collection


def _many(prefix: str) -> list[tuple[str, str, dict[str, object]]]:
    return [("DataFile", f"file:///{prefix}/{i}", {"name": f"{i}", "size": i, "fileType": "csv"}) for i in range(MANY)]


def test_a_refresh_that_changes_nothing_only_observes(repository: MetadataRepository) -> None:
    with repository.transaction(actor=ACTOR, refresh_id="first") as transaction:
        created = transaction.upsert_elements(_many("same"))
    before = len(list(repository.events_since(0)))
    reordered = [(type_name, name, dict(reversed(properties.items()))) for type_name, name, properties in _many("same")]
    with repository.transaction(actor=ACTOR, refresh_id="second") as transaction:
        again = transaction.upsert_elements(_many("same")[:50] + reordered[50:])
        counts = transaction.counts
    assert again == [(guid, ChangeKind.UNCHANGED) for guid, _ in created], "the order of the names does not matter"
    assert (counts.unchanged, counts.updated, counts.created) == (MANY, 0, 0)
    assert len(list(repository.events_since(0))) == before, "no events for elements that did not change"
    with repository.transaction(actor=ACTOR) as transaction:
        stored = [transaction.get_element(guid) for guid, _ in created]
    assert {(element.version, element.provenance.last_refresh_id) for element in stored} == {(1, "second")}


@pytest.mark.parametrize("wrong", [True, 1.0])
def test_after_loading_its_collection_an_equal_value_of_another_kind_is_still_refused(
    repository: MetadataRepository, wrong: object
) -> None:
    with repository.transaction(actor=ACTOR) as transaction:
        transaction.upsert_elements(_many("kind"))
    upserts = _many("kind")
    upserts[1][2]["size"] = wrong  # stored as 1
    with pytest.raises(TypeErrorInRepository), repository.transaction(actor=ACTOR) as transaction:
        transaction.upsert_elements(upserts)


def test_after_loading_its_collection_a_refresh_still_sees_every_change(repository: MetadataRepository) -> None:
    with repository.transaction(actor=ACTOR, refresh_id="first") as transaction:
        created = transaction.upsert_elements(_many("change"))
    changed = _many("change")
    changed[10][2]["size"] = 1010
    changed[20][2]["fileType"] = "json"
    changed[30] = ("CSVFile", changed[30][1], changed[30][2])
    with repository.transaction(actor=ACTOR, refresh_id="second") as transaction:
        results = transaction.upsert_elements(changed)
        counts = transaction.counts
    updated = {index for index, (_, change) in enumerate(results) if change is ChangeKind.ELEMENT_UPDATED}
    assert updated == {10, 20, 30}
    assert (counts.unchanged, counts.updated) == (MANY - 3, 3)
    events = [event for event in repository.events_since(0) if event.kind == ChangeKind.ELEMENT_UPDATED]
    assert [(e.element.guid, e.element.properties) for e in events if e.element is not None] == [
        (created[index][0], changed[index][2]) for index in (10, 20, 30)
    ]
    assert [e.previous_element.properties for e in events if e.previous_element is not None] == [
        _many("change")[index][2] for index in (10, 20, 30)
    ]


def test_a_large_bulk_upsert_looks_its_names_up_at_once(repository: MetadataRepository) -> None:
    with repository.transaction(actor=ACTOR) as transaction:
        transaction.upsert_elements(_many("once"))
    statements: list[str] = []
    engine = repository._engines.write  # type: ignore[attr-defined]

    def listener(*args: object) -> None:
        statements.append(str(args[2]))  # before_cursor_execute(connection, cursor, statement, ...)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        with repository.transaction(actor=ACTOR) as transaction:
            transaction.upsert_elements(_many("once"))
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1


@pytest.mark.parametrize(
    ("properties", "text"),
    [
        ({"name": 'é"', "size": 1, "ratio": 1.0, "ok": True}, '{"name":"é\\"","size":1,"ratio":1.0,"ok":true}'),
        ({"size": enum.IntEnum("Size", "ONE").ONE}, None),
        ({"columnNames": ["a"]}, None),
        ({"description": None}, None),
        ({"ratio": math.nan}, None),
        ({"ratio": math.inf}, None),
        ({1: "one"}, None),
    ],
)
def test_only_plain_scalars_are_compared_as_json_text(properties: dict[object, object], text: str | None) -> None:
    assert scalar_properties_json(properties) == text  # type: ignore[arg-type]


def test_sqlite_runtimes_do_not_import_the_postgresql_dialect(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from metaferry_runtime.repository import open_repository\n"
        f"repository = open_repository('sqlite:///{tmp_path}/repository.db')\n"
        "with repository.transaction(actor='a') as transaction:\n"
        "    element, _ = transaction.upsert_element('DataFile', 'file:///x', {'name': 'x'})\n"
        "    transaction.publish_element(element.guid, ['z'])\n"
        "    assert [e.guid for e in transaction.find_elements(zone='z', search_string='x')] == [element.guid]\n"
        "print('sqlalchemy.dialects.postgresql' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_upserted_elements_can_be_created_with_classifications_in_one_created_event(
    repository: MetadataRepository,
) -> None:
    with repository.transaction(actor=ACTOR) as transaction:
        results = transaction.upsert_elements(
            [
                ("RelationalColumn", "db.s.t#id", {"name": "id"}, {"PrimaryKey": {"name": "t_pkey"}}),
                ("RelationalColumn", "db.s.t#note", {"name": "note"}),
            ]
        )
    assert [change for _, change in results] == [ChangeKind.ELEMENT_CREATED, ChangeKind.ELEMENT_CREATED]
    with repository.transaction(actor=ACTOR) as transaction:
        key_column = transaction.get_element(results[0][0])
        again = transaction.upsert_elements(
            [("RelationalColumn", "db.s.t#id", {"name": "id"}, {"PrimaryKey": {"name": "renamed"}})]
        )
    key = key_column.classification("PrimaryKey")
    assert key is not None and key.properties == {"name": "t_pkey"} and key_column.version == 1
    events = [e for e in repository.events_since(0) if e.element is not None and e.element.guid == key_column.guid]
    assert [e.kind for e in events] == [ChangeKind.ELEMENT_CREATED]
    assert events[0].element is not None and events[0].element.classification("PrimaryKey") is not None
    # an existing element's classifications are changed by classify/declassify, not by an upsert
    assert again == [(key_column.guid, ChangeKind.UNCHANGED)]


def test_a_classification_invalid_for_the_type_is_refused_at_upsert(repository: MetadataRepository) -> None:
    with (
        pytest.raises(TypeErrorInRepository, match="PrimaryKey is not valid on DataFile"),
        repository.transaction(actor=ACTOR) as transaction,
    ):
        transaction.upsert_elements([("DataFile", "file:///x", {}, {"PrimaryKey": {}})])
