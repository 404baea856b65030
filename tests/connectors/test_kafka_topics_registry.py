"""kafka-topics with a schema registry: event types and their (nested) schema attributes linked to the topics
of the real Kafka broker by the subject name strategies.

The registry is a stand-in that replays the documented Confluent REST API response shapes
(tests/connectors/schema_registry_server.py): no real schema registry can be installed from the package
registries here (Confluent's is not on Maven Central; Apicurio's registry app depends on artifacts Maven
Central does not serve). The broker is real."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from metaferry_runtime.connectors.kafka_topics import KafkaTopicsConnector
from metaferry_runtime.resource.spec import DeletionDetection
from metaferry_runtime.sdk import ConnectorError
from metaferry_runtime.testing import (
    ConnectorHarness,
    HarnessFactory,
    assert_refresh_writes_nothing,
    element_named,
    elements_under,
    relationships_between,
)
from tests.connectors.schema_registry_server import Registry, serving
from tests.connectors.test_kafka_topics import Topics, cluster_name
from tests.kafka_server import KafkaBroker

Driven = ConnectorHarness[KafkaTopicsConnector]
REGISTRY_PASSWORD = "registry-secret-9f3a"

ORDER_AVRO = {
    "type": "record",
    "name": "Order",
    "namespace": "com.acme",
    "doc": "An order as the shop emits it.",
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "total", "type": {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2}},
        {
            "name": "customer",
            "type": [
                "null",
                {
                    "type": "record",
                    "name": "Customer",
                    "fields": [
                        {"name": "name", "type": "string"},
                        {
                            "name": "address",
                            "type": {
                                "type": "record",
                                "name": "Address",
                                "fields": [{"name": "city", "type": "string"}],
                            },
                        },
                    ],
                },
            ],
            "default": None,
        },
        {
            "name": "lines",
            "type": {
                "type": "array",
                "items": {"type": "record", "name": "Line", "fields": [{"name": "sku", "type": "string"}]},
            },
        },
    ],
}
KEY_AVRO = '"string"'
PAYMENT_JSON = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Payment",
    "type": "object",
    "required": ["id"],
    "properties": {
        "id": {"type": "string"},
        "amount": {"type": "number"},
        "card": {"$ref": "#/definitions/Card"},
    },
    "definitions": {"Card": {"type": "object", "properties": {"last4": {"type": "string"}}}},
}
SHIPMENT_PROTO = """syntax = "proto3";
package acme.shipping;
message Shipment {
  string id = 1;
  repeated Parcel parcels = 2;
  message Parcel { string barcode = 1; int32 grams = 2; }
}
"""


@pytest.fixture
def registry() -> Iterator[Registry]:
    with serving(Registry(username="catalogue", password=REGISTRY_PASSWORD)) as served:
        yield served


@pytest.fixture
def catalogue(
    connector_harness: HarnessFactory, kafka_broker: KafkaBroker, topics: Topics, registry: Registry
) -> Callable[..., Driven]:
    def make(*, config: dict[str, Any] | None = None, password: str = REGISTRY_PASSWORD, **kwargs: Any) -> Driven:
        properties = {
            "includeTopics": [f"{topics.prefix}\\..*"],
            "schemaRegistryUrl": registry.url,
            "schemaRegistryUsername": "catalogue",
            **(config or {}),
        }
        return connector_harness(
            KafkaTopicsConnector,
            endpoint=kafka_broker.bootstrap,
            configuration_properties=properties,
            secrets={"schemaRegistryPassword": password},
            **kwargs,
        )

    return make


@pytest.fixture
def topics(kafka_broker: KafkaBroker) -> Topics:
    return Topics(kafka_broker)


def test_avro_json_and_protobuf_subjects_become_event_types_of_their_topics(
    catalogue: Callable[..., Driven], topics: Topics, registry: Registry, kafka_broker: KafkaBroker
) -> None:
    orders, payments, shipments = (topics.create(name) for name in ("orders", "payments", "shipments"))
    registry.register(f"{orders}-value", ORDER_AVRO)
    registry.register(f"{orders}-key", KEY_AVRO)
    registry.register(f"{payments}-value", PAYMENT_JSON, "JSON")
    registry.register(f"{shipments}-acme.shipping.Shipment", SHIPMENT_PROTO, "PROTOBUF")  # topic-record strategy
    registry.register("nobody-knows-value", KEY_AVRO)
    harness = catalogue()
    harness.refresh()
    root = cluster_name(kafka_broker)
    topic = f"{root}/{orders}"

    value = element_named(harness, f"{topic}::{orders}-value")
    assert value.type_name == "EventType"
    assert value.properties["name"] == "com.acme.Order"
    assert value.properties["encodingStandard"] == "AVRO"
    assert value.properties["additionalProperties"]["role"] == "value"
    key = element_named(harness, f"{topic}::{orders}-key")
    assert key.properties["additionalProperties"]["role"] == "key"
    assert set(elements_under(harness, "EventType", topic + "::")) == {value.qualified_name, key.qualified_name}

    attributes = elements_under(harness, "EventSchemaAttribute", value.qualified_name + "::")
    names = {name.removeprefix(value.qualified_name + "::") for name in attributes}
    assert names == {
        "id",
        "total",
        "customer",
        "customer.name",
        "customer.address",
        "customer.address.city",
        "lines",
        "lines.sku",
    }
    customer = attributes[f"{value.qualified_name}::customer"].properties
    assert (customer["dataType"], customer["isNullable"], customer["defaultValueOverride"]) == (
        "Customer",
        True,
        "null",
    )
    assert attributes[f"{value.qualified_name}::total"].properties["dataType"] == "bytes:decimal"
    assert attributes[f"{value.qualified_name}::lines"].properties["maxCardinality"] == -1
    assert relationships_between(
        harness,
        f"{value.qualified_name}::customer",
        f"{value.qualified_name}::customer.address",
        type_name="NestedSchemaAttribute",
    )

    payment = f"{root}/{payments}::{payments}-value"
    assert set(elements_under(harness, "EventSchemaAttribute", payment + "::")) == {
        f"{payment}::{n}" for n in ("id", "amount", "card", "card.last4")
    }
    assert element_named(harness, f"{payment}::amount").properties["isNullable"] is True
    assert element_named(harness, f"{payment}::id").properties["isNullable"] is False

    shipment = f"{root}/{shipments}::{shipments}-acme.shipping.Shipment"
    assert element_named(harness, shipment).properties["encodingStandard"] == "PROTOBUF"
    assert set(elements_under(harness, "EventSchemaAttribute", shipment + "::")) == {
        f"{shipment}::{n}" for n in ("id", "parcels", "parcels.barcode", "parcels.grams")
    }
    warnings = [r.text for r in harness.audit_records() if r.message_id.endswith("0003")]
    assert warnings and "nobody-knows-value" in warnings[0]
    assert not any(REGISTRY_PASSWORD in record.text for record in harness.audit_records())
    assert_refresh_writes_nothing(harness)


def test_record_name_subjects_link_to_the_topics_the_configuration_names(
    catalogue: Callable[..., Driven], topics: Topics, registry: Registry, kafka_broker: KafkaBroker
) -> None:
    orders = topics.create("orders")
    registry.register("com.acme.Order", ORDER_AVRO)
    harness = catalogue(config={"subjectNameStrategies": ["record"], "recordTopics": {"com.acme.Order": [orders]}})
    harness.refresh()
    event_type = element_named(harness, f"{cluster_name(kafka_broker)}/{orders}::com.acme.Order")
    assert event_type.properties["additionalProperties"]["role"] == "record"


def test_a_new_schema_version_adds_its_field_and_a_deleted_subject_is_archived(
    catalogue: Callable[..., Driven], topics: Topics, registry: Registry, kafka_broker: KafkaBroker
) -> None:
    orders = topics.create("orders")
    registry.register(f"{orders}-value", ORDER_AVRO)
    registry.register(f"{orders}-key", KEY_AVRO)
    harness = catalogue()
    harness.refresh()
    value = f"{cluster_name(kafka_broker)}/{orders}::{orders}-value"

    evolved = json.loads(json.dumps(ORDER_AVRO))
    evolved["fields"].append({"name": "channel", "type": ["null", "string"], "default": None})
    registry.register(f"{orders}-value", evolved)
    registry.delete(f"{orders}-key")
    harness.refresh()

    assert element_named(harness, value).properties["versionNumber"] == "2"
    assert f"{value}::channel" in elements_under(harness, "EventSchemaAttribute", value + "::")
    assert set(elements_under(harness, "EventType", f"{cluster_name(kafka_broker)}/{orders}::")) == {value}


def test_a_deleted_topic_takes_its_event_types_and_attributes_with_it(
    catalogue: Callable[..., Driven], topics: Topics, registry: Registry, kafka_broker: KafkaBroker
) -> None:
    orders = topics.create("orders")
    topics.create("other")
    registry.register(f"{orders}-value", ORDER_AVRO)
    harness = catalogue(deletion_detection=DeletionDetection(max_archive_percent=100))  # most of what it owns goes
    harness.refresh()
    topic = f"{cluster_name(kafka_broker)}/{orders}"
    assert element_named(harness, f"{topic}::EventTypeList").type_name == "EventTypeList"

    topics.delete("orders")
    harness.refresh()
    for type_name in ("Topic", "EventTypeList", "EventType", "EventSchemaAttribute"):
        assert elements_under(harness, type_name, topic) == {}, type_name
    assert_refresh_writes_nothing(harness)


def test_a_registry_that_refuses_the_credentials_fails_the_refresh_naming_the_status(
    catalogue: Callable[..., Driven], topics: Topics
) -> None:
    topics.create("orders")
    harness = catalogue(password="wrong-password-123")
    with pytest.raises(ConnectorError, match="answered 401") as failure:
        harness.refresh()
    assert "wrong-password-123" not in str(failure.value)
