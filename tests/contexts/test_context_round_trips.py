"""Every integration-service context: create, update, publish, withdraw, find, get and remove its main kind."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from metaferry_runtime.repository import ElementNotFound, TypeErrorInRepository
from metaferry_runtime.sdk.contexts import CONTEXT_CLASSES
from tests.contexts.conftest import OTHER_SOURCE, ContextFactory


@dataclass(frozen=True)
class Kind:
    service: str
    singular: str
    plural: str
    type_name: str
    is_asset: bool


KINDS = [
    Kind("analytics", "data_set", "data_sets", "DataSet", True),
    Kind("api", "api", "apis", "DeployedAPI", True),
    Kind("catalog", "data_asset", "data_assets", "DataAsset", True),
    Kind("catalog", "glossary", "glossaries", "Glossary", False),
    Kind("database", "database", "databases", "Database", True),
    Kind("display", "report", "reports", "Report", True),
    Kind("files", "data_file", "data_files", "DataFile", True),
    Kind("infrastructure", "host", "hosts", "Host", True),
    Kind("lineage", "process", "processes", "Process", True),
    Kind("organization", "person", "people", "Person", False),
    Kind("security", "security_group", "security_groups", "SecurityGroup", False),
    Kind("topic", "topic", "topics", "Topic", True),
]


def test_there_is_one_context_class_per_integration_service() -> None:
    assert sorted(CONTEXT_CLASSES) == [
        "analytics", "api", "catalog", "database", "display", "files",
        "infrastructure", "lineage", "organization", "search", "security", "topic",
    ]  # fmt: skip
    for service, context_class in CONTEXT_CLASSES.items():
        assert context_class.integration_service == service


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: f"{k.service}-{k.singular}")
def test_context_creates_updates_finds_and_removes_its_elements(make_context: ContextFactory, kind: Kind) -> None:
    context = make_context(kind.service)
    op = lambda name: getattr(context, name.format(x=kind.singular, xs=kind.plural))  # noqa: E731

    guid = op("create_{x}")(f"test::{kind.singular}::sales", {"name": "Sales", "description": "all sales"})
    element = op("get_{x}_by_guid")(guid)
    assert (element.type_name, element.properties["name"]) == (kind.type_name, "Sales")

    op("update_{x}")(guid, {"description": "sales by region"})
    assert op("get_{x}_by_guid")(guid).properties == {"name": "Sales", "description": "sales by region"}
    op("update_{x}")(guid, {"name": "Revenue"}, is_merge_update=False)
    assert op("get_{x}_by_guid")(guid).properties == {"name": "Revenue"}

    if kind.is_asset:
        assert op("publish_{x}")(guid).zone_membership == ["published"]
        assert op("withdraw_{x}")(guid).zone_membership == []
    else:
        assert not hasattr(context, f"publish_{kind.singular}")

    assert [e.guid for e in op("find_{xs}")("revenue")] == [guid]
    assert [e.guid for e in op("get_{xs}_by_name")("Revenue")] == [guid]
    assert [e.guid for e in op("get_{xs}_by_name")(f"test::{kind.singular}::sales")] == [guid]
    assert op("get_{xs}_by_name")("Reve") == []

    theirs = make_context(kind.service, source=OTHER_SOURCE)
    getattr(theirs, f"create_{kind.singular}")(f"test::{kind.singular}::theirs", {"name": "Revenue too"})
    assert [e.guid for e in op("get_my_{xs}")()] == [guid]
    assert len(op("find_{xs}")("revenue")) == 2
    assert len(op("find_{xs}")("revenue", 0, 1)) == 1

    op("remove_{x}")(guid)
    with pytest.raises(ElementNotFound):
        op("get_{x}_by_guid")(guid)
    assert op("get_my_{xs}")() == []


@pytest.mark.parametrize("kind", KINDS[:3], ids=lambda k: f"{k.service}-{k.singular}")
def test_remove_with_purge_deletes_for_good_so_the_name_can_be_reused(make_context: ContextFactory, kind: Kind) -> None:
    context = make_context(kind.service)
    create = getattr(context, f"create_{kind.singular}")
    guid = create("test::purged", {"name": "Gone"})
    getattr(context, f"remove_{kind.singular}")(guid, purge=True)
    assert create("test::purged", {"name": "Back"}) != guid


def test_get_by_guid_refuses_an_element_of_another_kind(make_context: ContextFactory) -> None:
    files = make_context("files")
    folder = files.create_file_folder("file:///data", {"name": "data"})
    with pytest.raises(ElementNotFound, match="not a DataFile"):
        files.get_data_file_by_guid(folder)


def test_create_accepts_a_subtype_and_refuses_an_unrelated_type(make_context: ContextFactory) -> None:
    topics = make_context("topic")
    guid = topics.create_topic("kafka://broker/orders", {"name": "orders", "partitions": 3}, type_name="KafkaTopic")
    assert topics.get_topic_by_guid(guid).type_name == "KafkaTopic"
    with pytest.raises(TypeErrorInRepository, match="not a Topic"):
        topics.create_topic("kafka://broker/x", type_name="DataFile")
