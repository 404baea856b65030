"""How kafka-topics reads registry schemas into fields (no broker needed): Avro, JSON Schema and Protobuf
shapes the registries serve, recursion, and a schema that does not parse."""

from __future__ import annotations

import json

import pytest

from metaferry_runtime.connectors.kafka_topics.cluster import Snapshot, TopicInfo
from metaferry_runtime.connectors.kafka_topics.plan import plan_cluster
from metaferry_runtime.connectors.kafka_topics.registry import SubjectVersion
from metaferry_runtime.connectors.kafka_topics.schemas import SchemaError, SchemaField, parse
from metaferry_runtime.connectors.kafka_topics.settings import KafkaTopicsSettings
from metaferry_runtime.sdk import InvalidConfiguration, validate_configuration


def shape(fields: list[SchemaField]) -> dict[str, object]:
    return {f.name: (f.data_type, shape(f.children)) if f.children else f.data_type for f in fields}


def test_a_recursive_avro_record_is_expanded_once_and_then_named() -> None:
    node = {
        "type": "record",
        "name": "Node",
        "namespace": "tree",
        "fields": [{"name": "value", "type": "int"}, {"name": "children", "type": {"type": "array", "items": "Node"}}],
    }
    parsed = parse("AVRO", json.dumps(node))
    assert parsed.full_name == "tree.Node"
    assert shape(parsed.fields) == {"value": "int", "children": "array<Node>"}
    assert parsed.fields[1].repeated


def test_avro_unions_of_several_types_and_maps_keep_their_type_names() -> None:
    record = {
        "type": "record",
        "name": "Event",
        "fields": [
            {"name": "payload", "type": ["null", "string", "long"]},
            {"name": "labels", "type": {"type": "map", "values": "string"}},
            {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        ],
    }
    fields = parse("AVRO", json.dumps(record)).fields
    assert [(f.name, f.data_type, f.nullable) for f in fields] == [
        ("payload", "union<string,long>", True),
        ("labels", "map<string>", False),
        ("at", "long:timestamp-millis", False),
    ]


def test_protobuf_nested_messages_oneofs_maps_and_enums() -> None:
    proto = """
    syntax = "proto3";
    package acme.orders;
    import "google/protobuf/timestamp.proto";
    // the order as checkout writes it
    message Order {
      string id = 1;
      Customer customer = 2;
      repeated Line lines = 3;
      map<string, string> tags = 4;
      oneof payment { string card = 5; string iban = 6; }
      Status status = 7;
      google.protobuf.Timestamp placed = 8;
      message Line { string sku = 1; int32 quantity = 2; }
      enum Status { NEW = 0; PAID = 1; }
      reserved 9, 10;
    }
    message Customer { string name = 1; }
    """
    parsed = parse("PROTOBUF", proto)
    assert parsed.full_name == "acme.orders.Order"
    assert shape(parsed.fields) == {
        "id": "string",
        "customer": ("Customer", {"name": "string"}),
        "lines": ("Line", {"sku": "string", "quantity": "int32"}),
        "tags": "map<string,string>",
        "card": "string",
        "iban": "string",
        "status": "Status",
        "placed": "google.protobuf.Timestamp",
    }


def test_json_schema_references_and_arrays_of_objects() -> None:
    schema = {
        "title": "Basket",
        "type": "object",
        "required": ["items"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/$defs/Item"}},
            "note": {"type": ["string", "null"]},
        },
        "$defs": {"Item": {"type": "object", "properties": {"sku": {"type": "string"}}}},
    }
    fields = parse("JSON", json.dumps(schema)).fields
    assert shape(fields) == {"items": ("array<object>", {"sku": "string"}), "note": "string"}
    assert [(f.nullable, f.repeated) for f in fields] == [(False, True), (True, False)]


@pytest.mark.parametrize(
    ("schema_type", "text"),
    [("AVRO", "{not json"), ("JSON", "[1, 2]"), ("PROTOBUF", "syntax = 'proto3';"), ("XSD", "<schema/>")],
)
def test_a_schema_that_does_not_parse_raises_schema_error(schema_type: str, text: str) -> None:
    with pytest.raises(SchemaError):
        parse(schema_type, text)


def test_an_unparsable_subject_is_an_event_type_without_attributes_and_is_reported() -> None:
    snapshot = Snapshot(cluster_id="c1", brokers=1, controller=1, topics=[TopicInfo("orders", 1, 1, False)])
    subject = SubjectVersion("orders-value", 1, 7, "AVRO", "{broken")
    plan = plan_cluster(snapshot, [subject], settings=KafkaTopicsSettings(), address="b:9092")
    assert list(plan.event_types) == ["kafka://c1/orders::orders-value"]
    assert plan.attributes == {}
    assert plan.unparsed_subjects == ["orders-value"]


def test_a_topic_pattern_that_is_not_a_regular_expression_is_refused_with_its_key() -> None:
    with pytest.raises(InvalidConfiguration, match="includeTopics"):
        validate_configuration(KafkaTopicsSettings, {"includeTopics": ["orders("]})


def test_topic_selection_is_by_whole_name() -> None:
    settings = KafkaTopicsSettings(include_topics=("orders.*",), exclude_topics=(".*dlq",))
    assert settings.selects("orders.eu", internal=False)
    assert not settings.selects("orders.dlq", internal=False)
    assert not settings.selects("old.orders", internal=False)
    assert not KafkaTopicsSettings().selects("__consumer_offsets", internal=True)
