"""Retrieval on both backends: by type (with subtypes), search string, collection, zone, relationships; paging."""

from __future__ import annotations

from metaferry_runtime.repository import ChangeKind, MetadataRepository, Page
from tests.repository.conftest import ACTOR, OTHER


def _tree(repository: MetadataRepository) -> dict[str, str]:
    with repository.transaction(actor=ACTOR) as tx:
        folder = tx.create_element("FileFolder", "file:///lake", {"name": "lake"})
        csv = tx.create_element(
            "CSVFile", "file:///lake/Sales.csv", {"name": "Sales.csv", "description": "Monthly SALES"}
        )
        js = tx.create_element("JSONFile", "file:///lake/events.json", {"displayName": "Events feed"}, zones=["public"])
        plain = tx.create_element("DataFile", "file:///lake/notes.txt", {"name": "notes.txt"})
        tx.create_relationship("NestedFile", folder.guid, csv.guid)
        tx.create_relationship("NestedFile", folder.guid, js.guid)
        tx.create_relationship("NestedFile", folder.guid, plain.guid)
    with repository.transaction(actor=OTHER) as tx:
        table = tx.create_element("RelationalTable", "db.public.sales", {"name": "sales"})
    return {"folder": folder.guid, "csv": csv.guid, "json": js.guid, "plain": plain.guid, "table": table.guid}


def _names(elements: list) -> list[str]:  # type: ignore[type-arg]
    return [element.qualified_name for element in elements]


def test_find_by_type_includes_subtypes_unless_told_not_to(repository: MetadataRepository) -> None:
    _tree(repository)
    with repository.transaction(actor=ACTOR) as tx:
        with_subtypes = tx.find_elements(type_name="DataFile")
        exact = tx.find_elements(type_name="DataFile", include_subtypes=False)
    assert _names(with_subtypes) == ["file:///lake/Sales.csv", "file:///lake/events.json", "file:///lake/notes.txt"]
    assert _names(exact) == ["file:///lake/notes.txt"]


def test_search_is_a_case_insensitive_substring_of_name_display_name_description_and_qualified_name(
    repository: MetadataRepository,
) -> None:
    _tree(repository)
    with repository.transaction(actor=ACTOR) as tx:
        assert set(_names(tx.find_elements(search_string="sales"))) == {"file:///lake/Sales.csv", "db.public.sales"}
        assert _names(tx.find_elements(search_string="monthly")) == ["file:///lake/Sales.csv"]
        assert _names(tx.find_elements(search_string="EVENTS FEED")) == ["file:///lake/events.json"]
        assert _names(tx.find_elements(search_string="100%")) == []
        assert _names(tx.find_elements(search_string="sales", type_name="Asset")) == ["file:///lake/Sales.csv"]


def test_search_sees_curated_values(repository: MetadataRepository) -> None:
    guids = _tree(repository)
    with repository.transaction(actor="people/steward") as tx:
        tx.curate_element(guids["plain"], {"description": "Quarterly forecast"}, curator="steward")
        assert _names(tx.find_elements(search_string="forecast")) == ["file:///lake/notes.txt"]


def test_find_by_collection_and_zone(repository: MetadataRepository) -> None:
    _tree(repository)
    with repository.transaction(actor=ACTOR) as tx:
        assert _names(tx.find_elements(metadata_collection=OTHER)) == ["db.public.sales"]
        assert _names(tx.find_elements(zone="public")) == ["file:///lake/events.json"]


def test_paging_walks_the_results_in_qualified_name_order(repository: MetadataRepository) -> None:
    with repository.transaction(actor=ACTOR) as tx:
        for i in range(7):
            tx.upsert_element("DataFile", f"file:///f{i}", {})
        pages = [
            _names(tx.find_elements(type_name="DataFile", page=Page(start_from=start, page_size=3)))
            for start in (0, 3, 6)
        ]
    assert pages == [
        ["file:///f0", "file:///f1", "file:///f2"],
        ["file:///f3", "file:///f4", "file:///f5"],
        ["file:///f6"],
    ]


def test_reads_in_a_transaction_see_its_own_unflushed_writes(repository: MetadataRepository) -> None:
    with repository.transaction(actor=ACTOR) as tx:
        tx.upsert_element("DataFile", "file:///pending", {"name": "pending"})
        assert _names(tx.find_elements(search_string="pending")) == ["file:///pending"]


def test_relationships_and_related_elements_by_end_and_type(repository: MetadataRepository) -> None:
    guids = _tree(repository)
    with repository.transaction(actor=ACTOR) as tx:
        relationships = tx.get_relationships(guids["folder"], type_name="NestedFile")
        files = tx.get_related_elements(guids["folder"], relationship_type="NestedFile", at_end=1)
        home = tx.get_related_elements(guids["csv"], at_end=2)
        none = tx.get_related_elements(guids["csv"], at_end=1)
        second_page = tx.get_related_elements(guids["folder"], page=Page(start_from=2, page_size=2))
    assert len(relationships) == 3
    assert {r.end1_guid for r in relationships} == {guids["folder"]}
    assert _names(files) == ["file:///lake/Sales.csv", "file:///lake/events.json", "file:///lake/notes.txt"]
    assert _names(home) == ["file:///lake"]
    assert none == []
    assert _names(second_page) == ["file:///lake/notes.txt"]


def test_relationships_of_archived_elements_are_hidden(repository: MetadataRepository) -> None:
    guids = _tree(repository)
    with repository.transaction(actor=ACTOR) as tx:
        tx.archive_element(guids["csv"])
        assert len(tx.get_relationships(guids["folder"])) == 2
        assert "file:///lake/Sales.csv" not in _names(tx.get_related_elements(guids["folder"]))
        tx.restore_element(guids["csv"])
        assert len(tx.get_relationships(guids["folder"])) == 3


def test_upsert_relationship_creates_updates_and_leaves_unchanged(repository: MetadataRepository) -> None:
    with repository.transaction(actor=ACTOR) as tx:
        a = tx.create_element("Process", "proc:a", {})
        b = tx.create_element("Process", "proc:b", {})
        created, k1 = tx.upsert_relationship("DataFlow", a.guid, b.guid, {"formula": "x"})
    with repository.transaction(actor=ACTOR) as tx:
        same, k2 = tx.upsert_relationship("DataFlow", a.guid, b.guid, {"formula": "x"})
        changed, k3 = tx.upsert_relationship("DataFlow", a.guid, b.guid, {"formula": "y"})
        updated = tx.update_relationship(changed.guid, {"formulaType": "SQL"})
    assert (k1, k2, k3) == (ChangeKind.RELATIONSHIP_CREATED, ChangeKind.UNCHANGED, ChangeKind.RELATIONSHIP_UPDATED)
    assert same.guid == created.guid == changed.guid
    assert updated.properties == {"formula": "y", "formulaType": "SQL"}
    assert updated.version == 3
    with repository.transaction(actor=ACTOR) as tx:
        tx.delete_relationship(created.guid)
        assert tx.get_relationships(a.guid) == []
