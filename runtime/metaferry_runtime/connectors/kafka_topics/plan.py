"""What a Kafka cluster and its registry look like as open metadata: a plan of elements, by qualified name.

Names: the broker `kafka://<cluster id>`, a topic `kafka://<cluster id>/<topic>`, a consumer group
`kafka://<cluster id>/consumer-group:<group>` (`:` cannot occur in a topic name), an event type
`<topic>::<subject>` and an event schema attribute `<event type>::<field path>`. Subjects are linked to
topics by the configured subject name strategies; a subject that names no catalogued topic is counted,
not catalogued. The plan's digest (SHA-256 of its canonical JSON) is stored on the broker element, so a
refresh that finds the same digest there knows the repository already holds exactly this plan.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from metaferry_runtime.connectors.kafka_topics.cluster import Snapshot, TopicInfo
from metaferry_runtime.connectors.kafka_topics.registry import SubjectVersion
from metaferry_runtime.connectors.kafka_topics.schemas import ParsedSchema, SchemaError, SchemaField, parse
from metaferry_runtime.connectors.kafka_topics.settings import KafkaTopicsSettings, SubjectNameStrategy

DIGEST_KEY = "metaferryDigest"
TOPIC_TYPE = "KafkaTopic"
EVENT_TYPE_LIST = "EventTypeList"


@dataclass
class Attribute:
    parent: str  # the event type's qualified name (top level) or the parent attribute's
    top_level: bool
    properties: dict[str, Any]


@dataclass
class Plan:
    broker_name: str
    broker: dict[str, Any]
    topics: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: event type qualified name -> (topic qualified name, properties)
    event_types: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    #: in parent-before-child order
    attributes: dict[str, Attribute] = field(default_factory=dict)
    subscribers: dict[str, dict[str, Any]] = field(default_factory=dict)
    subscriptions: set[tuple[str, str]] = field(default_factory=set)  # (topic, subscriber)
    unlinked_subjects: list[str] = field(default_factory=list)
    unparsed_subjects: list[str] = field(default_factory=list)

    @property
    def scope(self) -> str:
        return self.broker_name + "/"

    @property
    def event_type_lists(self) -> list[str]:
        """The EventTypeList the topic context inserts under each topic that has event types."""
        return sorted({f"{topic}::{EVENT_TYPE_LIST}" for topic, _ in self.event_types.values()})

    def names(self) -> list[str]:
        return [
            self.broker_name,
            *self.topics,
            *self.event_type_lists,
            *self.event_types,
            *self.attributes,
            *self.subscribers,
        ]

    def digest(self) -> str:
        canonical = {
            "broker": self.broker,
            "topics": self.topics,
            "eventTypes": self.event_types,
            "attributes": {name: [a.parent, a.top_level, a.properties] for name, a in self.attributes.items()},
            "subscribers": self.subscribers,
            "subscriptions": sorted(self.subscriptions),
        }
        return hashlib.sha256(json.dumps(canonical, sort_keys=True, default=str).encode()).hexdigest()


def plan_cluster(
    snapshot: Snapshot,
    subjects: Sequence[SubjectVersion],
    *,
    settings: KafkaTopicsSettings,
    address: str,
) -> Plan:
    broker_name = f"kafka://{snapshot.cluster_id}"
    extra = {"clusterId": snapshot.cluster_id, "brokerCount": str(snapshot.brokers), "bootstrapServers": address}
    if snapshot.controller is not None:
        extra["controllerId"] = str(snapshot.controller)
    plan = Plan(
        broker_name=broker_name,
        broker=_clean(
            {
                "name": f"Kafka cluster {snapshot.cluster_id}",
                "deployedImplementationType": "Apache Kafka",
                "version": settings.broker_version,
                "additionalProperties": extra,
            }
        ),
    )
    topic_names: dict[str, str] = {}
    for topic in snapshot.topics:
        qualified = f"{broker_name}/{topic.name}"
        topic_names[topic.name] = qualified
        plan.topics[qualified] = _topic_properties(topic)
    for group in snapshot.groups:
        qualified = f"{broker_name}/consumer-group:{group.group_id}"
        lag = {f"lag.{t}": str(v) for t, v in group.topics.items() if v is not None and settings.consumer_lag}
        plan.subscribers[qualified] = _clean(
            {
                "name": group.group_id,
                "deployedImplementationType": "Apache Kafka consumer group",
                "additionalProperties": lag or None,
            }
        )
        plan.subscriptions |= {(topic_names[t], qualified) for t in group.topics if t in topic_names}
    for subject in subjects:
        _plan_subject(plan, subject, topic_names, settings)
    return plan


def _topic_properties(topic: TopicInfo) -> dict[str, Any]:
    return _clean(
        {
            "name": topic.name,
            "topicName": topic.name,
            "topicType": "kafka",
            "deployedImplementationType": "Apache Kafka Topic",
            "partitions": topic.partitions,
            "replicas": topic.replicas,
            "retentionMs": topic.retention_ms,
            "retentionBytes": topic.retention_bytes,
            "cleanupPolicy": topic.cleanup_policy,
            "additionalProperties": {"internal": "true"} if topic.internal else None,
        }
    )


def _plan_subject(plan: Plan, subject: SubjectVersion, topics: dict[str, str], settings: KafkaTopicsSettings) -> None:
    try:
        parsed: ParsedSchema | None = parse(subject.schema_type, subject.schema)
    except SchemaError:
        parsed = None
        plan.unparsed_subjects.append(subject.subject)
    targets = _topics_of(subject.subject, parsed, topics, settings)
    if not targets:
        plan.unlinked_subjects.append(subject.subject)
        return
    for topic_name, role in targets:
        topic = topics[topic_name]
        event_type = f"{topic}::{subject.subject}"
        properties = _clean(
            {
                "name": parsed.full_name if parsed is not None else subject.subject,
                "displayName": subject.subject,
                "namespace": parsed.namespace if parsed is not None else None,
                "description": parsed.doc if parsed is not None else None,
                "versionNumber": str(subject.version),
                "encodingStandard": subject.schema_type,
                "additionalProperties": {"subject": subject.subject, "schemaId": str(subject.schema_id), "role": role},
            }
        )
        plan.event_types[event_type] = (topic, properties)
        if parsed is not None:
            _plan_fields(plan, parsed.fields, parent=event_type, top_level=True)


def _topics_of(
    subject: str, parsed: ParsedSchema | None, topics: dict[str, str], settings: KafkaTopicsSettings
) -> list[tuple[str, str]]:
    """(topic, role) pairs the subject describes under the configured strategies."""
    found: list[tuple[str, str]] = []
    strategies = settings.subject_name_strategies
    if SubjectNameStrategy.TOPIC in strategies:
        for role in ("value", "key"):
            suffix = f"-{role}"
            if subject.endswith(suffix) and subject[: -len(suffix)] in topics:
                found.append((subject[: -len(suffix)], role))
    if parsed is not None and SubjectNameStrategy.TOPIC_RECORD in strategies and not found:
        suffix = f"-{parsed.full_name}"
        if subject.endswith(suffix) and subject[: -len(suffix)] in topics:
            found.append((subject[: -len(suffix)], "record"))
    if parsed is not None and SubjectNameStrategy.RECORD in strategies and subject == parsed.full_name:
        found += [(t, "record") for t in settings.record_topics.get(subject, ()) if t in topics]
    return found


def _plan_fields(plan: Plan, fields: Iterable[SchemaField], *, parent: str, top_level: bool) -> None:
    for position, schema_field in enumerate(fields):
        qualified = f"{parent}::{schema_field.name}" if top_level else f"{parent}.{schema_field.name}"
        properties = _clean(
            {
                "name": schema_field.name,
                "dataType": schema_field.data_type,
                "position": position,
                "isNullable": schema_field.nullable,
                "minCardinality": 0 if schema_field.nullable or schema_field.repeated else 1,
                "maxCardinality": -1 if schema_field.repeated else 1,
                "defaultValueOverride": schema_field.default,
                "description": schema_field.doc,
            }
        )
        plan.attributes[qualified] = Attribute(parent=parent, top_level=top_level, properties=properties)
        if schema_field.children:
            _plan_fields(plan, schema_field.children, parent=qualified, top_level=False)


def _clean(properties: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in properties.items() if value is not None}
