"""The kafka-topics connector against a real Apache Kafka broker (KRaft, one node) started for the session:
what it catalogues, what creating, altering and deleting topics between refreshes changes in the repository,
blocking mode noticing a new topic, and the SASL password kept out of every audit record.

Each test works on topics named with its own prefix and selects only those (includeTopics), so the tests
share the broker without seeing each other's topics."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from confluent_kafka import ConsumerGroupTopicPartitions, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic
from confluent_kafka.admin._config import AlterConfigOpType, ConfigEntry, ConfigResource
from confluent_kafka.admin._resource import ResourceType

from metaferry_runtime.connectors.kafka_topics import KafkaTopicsConnector
from metaferry_runtime.sdk import ConnectorConfigurationError, ConnectorError
from metaferry_runtime.testing import (
    ConnectorHarness,
    HarnessFactory,
    assert_refresh_writes_nothing,
    element_named,
    elements_under,
    relationships_between,
)
from tests.kafka_server import SASL_USER, KafkaBroker, free_port
from tests.waiting import wait_for

Driven = ConnectorHarness[KafkaTopicsConnector]


def _done(futures: dict[Any, Any]) -> None:
    for future in futures.values():
        future.result(timeout=30)


class Topics:
    """Topics of one test on the real broker, named `<prefix>.<name>`."""

    def __init__(self, broker: KafkaBroker) -> None:
        self.admin: AdminClient = broker.admin()
        self.prefix = f"t{uuid.uuid4().hex[:8]}"

    def name(self, short: str) -> str:
        return f"{self.prefix}.{short}"

    def create(self, short: str, partitions: int = 1, **config: str) -> str:
        name = self.name(short)
        _done(self.admin.create_topics([NewTopic(name, partitions, 1, config=config)], operation_timeout=30))
        wait_for(lambda: name in self.admin.list_topics(timeout=10).topics, what=f"topic {name} listed")
        return name

    def delete(self, short: str) -> None:
        name = self.name(short)
        _done(self.admin.delete_topics([name], operation_timeout=30))
        wait_for(lambda: name not in self.admin.list_topics(timeout=10).topics, what=f"topic {name} gone")

    def alter(self, short: str, **config: str) -> None:
        entries = [ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET) for k, v in config.items()]
        resource = ConfigResource(ResourceType.TOPIC, self.name(short), incremental_configs=entries)
        _done(self.admin.incremental_alter_configs([resource]))

    def grow(self, short: str, partitions: int) -> None:
        _done(self.admin.create_partitions([NewPartitions(self.name(short), partitions)]))


@pytest.fixture
def topics(kafka_broker: KafkaBroker) -> Topics:
    return Topics(kafka_broker)


@pytest.fixture
def catalogue(connector_harness: HarnessFactory, kafka_broker: KafkaBroker, topics: Topics) -> Callable[..., Driven]:
    def make(*, config: dict[str, Any] | None = None, **kwargs: Any) -> Driven:
        properties = {"includeTopics": [f"{topics.prefix}\\..*"], **(config or {})}
        kwargs.setdefault("endpoint", kafka_broker.bootstrap)
        return connector_harness(KafkaTopicsConnector, configuration_properties=properties, **kwargs)

    return make


def cluster_name(broker: KafkaBroker) -> str:
    cluster_id = broker.admin().list_topics(timeout=10).cluster_id
    return f"kafka://{cluster_id}"


def test_catalogues_the_broker_and_each_topic_with_its_configuration(
    catalogue: Callable[..., Driven], topics: Topics, kafka_broker: KafkaBroker
) -> None:
    orders = topics.create("orders", partitions=3, **{"retention.ms": "86400000"})
    topics.create("audit", **{"cleanup.policy": "compact"})
    harness = catalogue()
    harness.refresh()

    root = cluster_name(kafka_broker)
    broker = element_named(harness, root)
    assert broker.type_name == "EventBroker"
    assert broker.properties["additionalProperties"]["brokerCount"] == "1"
    assert broker.properties["additionalProperties"]["clusterId"] == root.removeprefix("kafka://")
    catalogued = elements_under(harness, "Topic", root + "/")
    assert set(catalogued) == {f"{root}/{orders}", f"{root}/{topics.name('audit')}"}
    topic = catalogued[f"{root}/{orders}"]
    assert topic.type_name == "KafkaTopic"
    assert topic.properties["partitions"] == 3
    assert topic.properties["replicas"] == 1
    assert topic.properties["retentionMs"] == 86_400_000
    assert topic.properties["cleanupPolicy"] == "delete"
    assert catalogued[f"{root}/{topics.name('audit')}"].properties["cleanupPolicy"] == "compact"
    assert relationships_between(harness, root, f"{root}/{orders}", type_name="ServerAssetUse")


def test_internal_topics_are_left_out_unless_asked_for_and_exclusions_apply(
    catalogue: Callable[..., Driven], topics: Topics, kafka_broker: KafkaBroker
) -> None:
    topics.create("keep")
    topics.create("scratch")
    group = f"{topics.prefix}-group"  # committing an offset makes the broker create __consumer_offsets
    commit = [ConsumerGroupTopicPartitions(group, [TopicPartition(topics.name("keep"), 0, 0)])]
    _done(topics.admin.alter_consumer_group_offsets(commit))
    root = cluster_name(kafka_broker)

    default = catalogue(config={"includeTopics": [f"{topics.prefix}\\..*", "__.*"], "excludeTopics": [".*scratch"]})
    default.refresh()
    assert set(elements_under(default, "Topic", root + "/")) == {f"{root}/{topics.name('keep')}"}

    internal = catalogue(
        config={"includeTopics": [f"{topics.prefix}\\..*", "__consumer_offsets"], "includeInternalTopics": True}
    )
    internal.refresh()
    offsets = element_named(internal, f"{root}/__consumer_offsets")
    assert offsets.properties["additionalProperties"] == {"internal": "true"}


def test_created_altered_and_deleted_topics_between_refreshes_are_brought_into_step(
    catalogue: Callable[..., Driven], topics: Topics, kafka_broker: KafkaBroker
) -> None:
    topics.create("orders")
    topics.create("payments")
    topics.create("legacy")
    harness = catalogue()
    harness.refresh()
    root = cluster_name(kafka_broker)
    legacy = element_named(harness, f"{root}/{topics.name('legacy')}")

    topics.alter("orders", **{"retention.ms": "3600000", "cleanup.policy": "compact"})
    topics.grow("payments", 4)
    topics.delete("legacy")
    topics.create("refunds")
    harness.refresh()

    catalogued = elements_under(harness, "Topic", root + "/")
    assert set(catalogued) == {f"{root}/{topics.name(n)}" for n in ("orders", "payments", "refunds")}
    orders = catalogued[f"{root}/{topics.name('orders')}"].properties
    assert (orders["retentionMs"], orders["cleanupPolicy"]) == (3_600_000, "compact")
    assert catalogued[f"{root}/{topics.name('payments')}"].properties["partitions"] == 4
    with harness.repository.transaction(actor="reader") as transaction:
        assert transaction.get_element(legacy.guid, include_archived=True).status == "ARCHIVED"


def test_a_refresh_of_an_unchanged_cluster_writes_nothing(catalogue: Callable[..., Driven], topics: Topics) -> None:
    for short in ("a", "b", "c"):
        topics.create(short, partitions=2)
    harness = catalogue()
    harness.refresh()
    assert_refresh_writes_nothing(harness)
    assert "digest unchanged" in harness.audit_records()[-1].text


def test_consumer_groups_are_subscribers_of_their_topics_with_their_lag(
    catalogue: Callable[..., Driven], topics: Topics, kafka_broker: KafkaBroker
) -> None:
    orders = topics.create("orders")
    producer = Producer({"bootstrap.servers": kafka_broker.bootstrap, "log_level": 0})
    for number in range(10):
        producer.produce(orders, value=str(number).encode())
    assert producer.flush(30) == 0
    group = f"{topics.prefix}-billing"
    commit = [ConsumerGroupTopicPartitions(group, [TopicPartition(orders, 0, 4)])]
    _done(topics.admin.alter_consumer_group_offsets(commit))

    harness = catalogue()
    harness.refresh()
    root = cluster_name(kafka_broker)
    subscriber = element_named(harness, f"{root}/consumer-group:{group}")
    assert subscriber.type_name == "DeployedSoftwareComponent"
    assert subscriber.properties["additionalProperties"] == {f"lag.{orders}": "6"}
    assert relationships_between(harness, f"{root}/{orders}", subscriber.qualified_name, type_name="TopicSubscribers")

    commit = [ConsumerGroupTopicPartitions(group, [TopicPartition(orders, 0, 10)])]
    _done(topics.admin.alter_consumer_group_offsets(commit))
    harness.refresh()
    assert element_named(harness, subscriber.qualified_name).properties["additionalProperties"] == {
        f"lag.{orders}": "0"
    }
    _done(topics.admin.delete_consumer_groups([group]))
    harness.refresh()
    assert subscriber.qualified_name not in elements_under(harness, "DeployedSoftwareComponent", root + "/")


def test_blocking_mode_catalogues_a_created_and_a_deleted_topic_between_refreshes(
    catalogue: Callable[..., Driven], topics: Topics, kafka_broker: KafkaBroker
) -> None:
    topics.create("first")
    harness = catalogue(config={"pollIntervalSeconds": 0.1}, uses_blocking_calls=True)
    harness.refresh()
    root = cluster_name(kafka_broker)
    assert harness.engage_once() == []  # nothing changed: a metadata poll, no write

    created = topics.create("second")
    events = harness.engage_once()
    assert f"{root}/{created}" in elements_under(harness, "Topic", root + "/")
    assert any(event.element is not None and event.element.qualified_name == f"{root}/{created}" for event in events)

    topics.delete("first")
    harness.engage_once()
    assert set(elements_under(harness, "Topic", root + "/")) == {f"{root}/{created}"}


def test_sasl_credentials_come_from_the_secret_and_stay_out_of_audit_records(
    catalogue: Callable[..., Driven], topics: Topics, kafka_broker: KafkaBroker
) -> None:
    topics.create("secured")
    sasl = {"securityProtocol": "SASL_PLAINTEXT", "saslMechanism": "PLAIN", "saslUsername": SASL_USER}
    harness = catalogue(
        endpoint=kafka_broker.sasl_bootstrap, config=sasl, secrets={"password": kafka_broker.sasl_password}
    )
    harness.refresh()
    assert len(elements_under(harness, "Topic", cluster_name(kafka_broker) + "/")) == 1
    texts = [record.text for record in harness.audit_records()]
    assert texts and not any(kafka_broker.sasl_password in text for text in texts)
    assert kafka_broker.sasl_password not in str(harness.report().model_dump())


def test_a_wrong_sasl_password_fails_without_naming_it(
    catalogue: Callable[..., Driven], kafka_broker: KafkaBroker
) -> None:
    wrong = "not-the-password-" + uuid.uuid4().hex
    sasl = {
        "securityProtocol": "SASL_PLAINTEXT",
        "saslUsername": SASL_USER,
        "requestTimeoutSeconds": 5,
    }
    with pytest.raises(ConnectorError) as failure:
        catalogue(endpoint=kafka_broker.sasl_bootstrap, config=sasl, secrets={"password": wrong})
    assert wrong not in str(failure.value)


def test_sasl_without_a_password_in_the_secret_is_a_configuration_error(
    catalogue: Callable[..., Driven], kafka_broker: KafkaBroker
) -> None:
    with pytest.raises(ConnectorConfigurationError, match="Secret's `password`"):
        catalogue(
            endpoint=kafka_broker.sasl_bootstrap,
            config={"securityProtocol": "SASL_PLAINTEXT", "saslUsername": SASL_USER},
        )


def test_an_endpoint_holding_credentials_is_refused(catalogue: Callable[..., Driven]) -> None:
    with pytest.raises(ConnectorConfigurationError, match="without a scheme or credentials"):
        catalogue(endpoint="user:hunter22@127.0.0.1:9092")


def test_conforms(connector_conformance: Callable[..., Any], topics: Topics, kafka_broker: KafkaBroker) -> None:
    topics.create("conformance")
    connector_conformance(
        KafkaTopicsConnector,
        endpoint=kafka_broker.bootstrap,
        configuration_properties={"includeTopics": [f"{topics.prefix}\\..*"]},
    )


def test_an_unreachable_cluster_fails_start_so_the_runtime_retries(connector_harness: HarnessFactory) -> None:
    with pytest.raises(ConnectorError, match=r"from the Kafka brokers 127\.0\.0\.1") as failure:
        connector_harness(
            KafkaTopicsConnector,
            endpoint=f"127.0.0.1:{free_port()}",
            configuration_properties={"requestTimeoutSeconds": 2},
        )
    assert not isinstance(failure.value, ConnectorConfigurationError)  # FAILED and retried, not CONFIG_FAILED
