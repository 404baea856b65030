"""The catalogue reads through `reader()`: it sees committed data, writes nothing, and holds no write lock."""

from __future__ import annotations

from metaferry_runtime.repository import MetadataRepository
from tests.catalog.conftest import FILES


def test_a_connector_commits_while_a_reader_is_open(repository: MetadataRepository) -> None:
    with repository.transaction(actor=FILES) as tx:
        tx.create_element("DataFile", "file:///r/first", {})
    with repository.reader() as reader:
        assert [e.qualified_name for e in reader.find_elements(type_name="DataFile")] == ["file:///r/first"]
        # On SQLite a `transaction()` here would hold the write lock and this write would wait, then fail.
        with repository.transaction(actor=FILES) as tx:
            tx.create_element("DataFile", "file:///r/second", {})
    with repository.reader() as reader:
        assert len(reader.find_elements(type_name="DataFile")) == 2


def test_nothing_done_in_a_reader_is_committed(repository: MetadataRepository) -> None:
    head = repository.head_sequence()
    with repository.reader() as reader:
        reader.create_element("DataFile", "file:///r/never", {})
    with repository.reader() as reader:
        assert reader.find_element_by_name("file:///r/never") is None
    assert repository.head_sequence() == head


def test_find_elements_filters_by_classification(repository: MetadataRepository) -> None:
    with repository.transaction(actor=FILES) as tx:
        tx.create_element("DataFile", "file:///c/secret", {}, classifications={"Confidentiality": {"level": 5}})
        plain = tx.create_element("DataFile", "file:///c/plain", {})
        tx.classify_element(plain.guid, "Confidentiality", {"level": 1})
        tx.declassify_element(plain.guid, "Confidentiality")
        tx.create_element("DataFile", "file:///c/empty-props", {}, classifications={"Confidentiality": {}})
    with repository.reader() as reader:
        found = reader.find_elements(classification="Confidentiality")
    assert [e.qualified_name for e in found] == ["file:///c/empty-props", "file:///c/secret"]
