"""Reading a Kafka cluster with confluent-kafka's AdminClient: its identity, topics and consumer groups.

One metadata request (`list_topics`) gives the cluster id, the brokers and every topic's partitions and
replicas; one DescribeConfigs request for the selected topics gives retention and cleanup policy. Consumer
groups cost one ListGroups request, one OffsetFetch per group and, for lag, one ListOffsets for all their
partitions. Every call has the configured timeout; a failure is a ConnectorError naming the brokers, and
the client's configuration (which holds the passwords) never appears in a message.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._config import ConfigResource  # the names confluent_kafka.admin re-exports untyped
from confluent_kafka.admin._listoffsets import OffsetSpec
from confluent_kafka.admin._resource import ResourceType

from metaferry_runtime.connectors.kafka_topics.settings import (
    SASL_PASSWORD,
    SSL_KEY_PASSWORD,
    KafkaTopicsSettings,
)
from metaferry_runtime.sdk import Connection, ConnectorConfigurationError, ConnectorError

_LOG = logging.getLogger(__name__)
#: librdkafka's own log lines (connection refused...) go to this logger, at WARNING and above.
_CLIENT_LOG = logging.getLogger("metaferry_runtime.connectors.kafka_topics.librdkafka")


@dataclass(frozen=True)
class TopicInfo:
    name: str
    partitions: int
    replicas: int
    internal: bool
    retention_ms: int | None = None
    retention_bytes: int | None = None
    cleanup_policy: str | None = None


@dataclass(frozen=True)
class GroupInfo:
    group_id: str
    state: str
    #: topic -> the group's lag on it (None when lag is not read or no offset is committed)
    topics: Mapping[str, int | None]


@dataclass
class Snapshot:
    cluster_id: str
    brokers: int
    controller: int | None
    topics: list[TopicInfo] = field(default_factory=list)
    groups: list[GroupInfo] = field(default_factory=list)


def client_config(connection: Connection, settings: KafkaTopicsSettings) -> dict[str, Any]:
    """librdkafka's configuration from the endpoint, the properties and the Secret."""
    servers = (connection.endpoint or "").strip()
    if not servers:
        raise ConnectorConfigurationError("kafka-topics needs the bootstrap servers as the endpoint (host:port,...)")
    if "@" in servers or "://" in servers:
        raise ConnectorConfigurationError(
            "the endpoint must be bootstrap servers (host:port,...), without a scheme or credentials:"
            " put the SASL user in saslUsername and its password in the Secret's `password`"
        )
    config: dict[str, Any] = {
        "bootstrap.servers": servers,
        "security.protocol": settings.security_protocol,
        "socket.timeout.ms": int(settings.request_timeout_seconds * 1000),
        "logger": _CLIENT_LOG,
        "log_level": 4,
    }
    if settings.security_protocol.startswith("SASL"):
        password = connection.secret(SASL_PASSWORD)
        if settings.sasl_username is None or password is None:
            raise ConnectorConfigurationError(
                f"{settings.security_protocol} needs saslUsername and the Secret's `{SASL_PASSWORD}`"
            )
        config |= {"sasl.mechanism": settings.sasl_mechanism, "sasl.username": settings.sasl_username}
        config["sasl.password"] = password
    if settings.security_protocol.endswith("SSL"):
        config["ssl.endpoint.identification.algorithm"] = "https" if settings.ssl_verify_hostname else "none"
        for key, value in (
            ("ssl.ca.location", settings.ssl_ca_location),
            ("ssl.certificate.location", settings.ssl_certificate_location),
            ("ssl.key.location", settings.ssl_key_location),
        ):
            if value is not None:
                config[key] = value
        key_password = connection.secret(SSL_KEY_PASSWORD)
        if key_password is not None:
            config["ssl.key.password"] = key_password
    return config


class Cluster:
    """The AdminClient and the reads the connector makes with it."""

    def __init__(self, connection: Connection, settings: KafkaTopicsSettings) -> None:
        self.settings = settings
        self.address = (connection.endpoint or "").strip()
        self._timeout = settings.request_timeout_seconds
        try:
            self._admin: AdminClient | None = AdminClient(client_config(connection, settings))
        except KafkaException as error:
            raise ConnectorConfigurationError(f"the Kafka client refused its configuration: {_reason(error)}") from None

    @property
    def admin(self) -> AdminClient:
        if self._admin is None:
            raise ConnectorError("the Kafka client is closed")
        return self._admin

    def close(self) -> None:
        self._admin = None  # librdkafka's handle is released when the object goes

    def _failed(self, what: str, error: BaseException) -> ConnectorError:
        return ConnectorError(f"{what} from the Kafka brokers {self.address} failed: {_reason(error)}")

    # --- reads -------------------------------------------------------------------------------------------------
    def topic_names(self) -> frozenset[str]:
        """The selected topics' names, from one metadata request (what blocking mode polls)."""
        try:
            metadata = self.admin.list_topics(timeout=self._timeout)
        except (KafkaException, TimeoutError) as error:
            raise self._failed("listing topics", error) from None
        return frozenset(
            name for name, topic in metadata.topics.items() if self.settings.selects(name, internal=_internal(name))
        )

    def read(self) -> Snapshot:
        try:
            metadata = self.admin.list_topics(timeout=self._timeout)
        except (KafkaException, TimeoutError) as error:
            raise self._failed("reading metadata", error) from None
        if metadata.cluster_id is None:
            raise ConnectorError(f"the Kafka brokers {self.address} did not report a cluster id")
        snapshot = Snapshot(
            cluster_id=metadata.cluster_id,
            brokers=len(metadata.brokers),
            controller=metadata.controller_id if metadata.controller_id >= 0 else None,
        )
        selected = sorted(name for name in metadata.topics if self.settings.selects(name, internal=_internal(name)))
        configs = self._topic_configs(selected)
        for name in selected:
            topic = metadata.topics[name]
            if topic.error is not None:
                raise ConnectorError(f"the metadata of topic {name} on {self.address} has an error: {topic.error}")
            partitions = topic.partitions.values()
            config = configs.get(name, {})
            snapshot.topics.append(
                TopicInfo(
                    name=name,
                    partitions=len(partitions),
                    replicas=max((len(p.replicas) for p in partitions), default=0),
                    internal=_internal(name),
                    retention_ms=_integer(config.get("retention.ms")),
                    retention_bytes=_integer(config.get("retention.bytes")),
                    cleanup_policy=config.get("cleanup.policy"),
                )
            )
        if self.settings.consumer_groups:
            snapshot.groups = self._groups({t.name: t.partitions for t in snapshot.topics})
        return snapshot

    def _topic_configs(self, names: list[str]) -> dict[str, dict[str, str]]:
        if not names:
            return {}
        resources = [ConfigResource(ResourceType.TOPIC, name) for name in names]
        try:
            futures = self.admin.describe_configs(resources, request_timeout=self._timeout)
            result: dict[str, dict[str, str]] = {}
            for resource, future in futures.items():
                entries = future.result(timeout=self._timeout)
                result[resource.name] = {
                    key: entries[key].value
                    for key in ("retention.ms", "retention.bytes", "cleanup.policy")
                    if key in entries and entries[key].value is not None
                }
        except (KafkaException, TimeoutError) as error:
            raise self._failed("describing topic configurations", error) from None
        return result

    def _groups(self, topics: Mapping[str, int]) -> list[GroupInfo]:
        """Each consumer group with the selected topics it has committed offsets on, and its lag there."""
        try:
            listed = self.admin.list_consumer_groups(request_timeout=self._timeout).result(timeout=self._timeout)
            committed: dict[str, dict[TopicPartition, int]] = {}
            states = {}
            for group in sorted(listed.valid, key=lambda g: g.group_id):
                states[group.group_id] = str(getattr(group.state, "name", group.state))
                request = [ConsumerGroupTopicPartitions(group.group_id)]
                futures = self.admin.list_consumer_group_offsets(request, request_timeout=self._timeout)
                offsets = next(iter(futures.values())).result(timeout=self._timeout)
                committed[group.group_id] = {
                    TopicPartition(p.topic, p.partition): p.offset
                    for p in offsets.topic_partitions
                    if p.topic in topics and p.error is None
                }
            ends = self._end_offsets({tp for parts in committed.values() for tp in parts})
        except (KafkaException, TimeoutError) as error:
            raise self._failed("reading consumer groups", error) from None
        groups = []
        for group_id, parts in committed.items():
            lag: dict[str, int | None] = defaultdict(lambda: None)
            for tp, offset in parts.items():
                end = ends.get(tp)
                if end is None or offset < 0:
                    lag.setdefault(tp.topic, None)
                    continue
                lag[tp.topic] = (lag.get(tp.topic) or 0) + max(0, end - offset)
            if parts:
                groups.append(GroupInfo(group_id=group_id, state=states[group_id], topics=dict(sorted(lag.items()))))
        return groups

    def _end_offsets(self, partitions: set[TopicPartition]) -> dict[TopicPartition, int]:
        if not self.settings.consumer_lag or not partitions:
            return {}
        latest: OffsetSpec = OffsetSpec.latest()  # type: ignore[no-untyped-call]
        request = {TopicPartition(tp.topic, tp.partition): latest for tp in partitions}
        futures = self.admin.list_offsets(request, request_timeout=self._timeout)
        return {
            TopicPartition(tp.topic, tp.partition): future.result(timeout=self._timeout).offset
            for tp, future in futures.items()
        }

    def describe(self) -> str:
        """One line about the cluster, for diagnose() and the start message."""
        try:
            cluster = self.admin.describe_cluster(request_timeout=self._timeout).result(timeout=self._timeout)
        except (KafkaException, TimeoutError) as error:
            raise self._failed("describing the cluster", error) from None
        return f"cluster {cluster.cluster_id}, {len(cluster.nodes)} brokers"


def _internal(name: str) -> bool:
    """Kafka's internal topics (__consumer_offsets, __transaction_state...) and other `__` topics."""
    return name.startswith("__")


def _integer(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _reason(error: BaseException) -> str:
    """The error's own description: KafkaError.str() names the cause, never the client's configuration."""
    if isinstance(error, TimeoutError):
        return "no answer within requestTimeoutSeconds (unreachable, or the credentials were refused)"
    inner = error.args[0] if error.args else error
    describe = getattr(inner, "str", None)
    return str(describe()) if callable(describe) else str(inner)
