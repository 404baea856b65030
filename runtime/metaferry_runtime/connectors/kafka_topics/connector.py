"""The `kafka-topics` connector: catalogues a Kafka cluster's topics, consumer groups and registry schemas.

start() builds the AdminClient from the endpoint (bootstrap servers), the properties and the Secret, and
reads the cluster once (an unreachable cluster is FAILED and retried; a refused configuration is
CONFIG_FAILED). Each refresh reads the metadata, the topic configurations, the consumer groups and, with
`schemaRegistryUrl`, the registry's latest subject versions, plans the elements (`plan.py`) and writes the
difference (`catalog.py`): a refresh of an unchanged cluster marks everything observed and writes nothing.

With `usesBlockingCalls`, engage() polls the topic names every `pollIntervalSeconds` (one metadata request)
and, when a topic appeared or went, catalogues the cluster in one change batch, so a created or deleted
topic is in the repository within seconds instead of at the next refresh.
"""

from __future__ import annotations

import threading

from metaferry_runtime.connectors.kafka_topics.catalog import Outcome, write_plan
from metaferry_runtime.connectors.kafka_topics.cluster import Cluster
from metaferry_runtime.connectors.kafka_topics.plan import Plan, plan_cluster
from metaferry_runtime.connectors.kafka_topics.registry import SchemaRegistry, SubjectVersion
from metaferry_runtime.connectors.kafka_topics.settings import REGISTRY_PASSWORD, KafkaTopicsSettings
from metaferry_runtime.sdk import (
    ConnectorError,
    Diagnosis,
    IntegrationConnector,
    MessageCatalogue,
    Severity,
    numbered,
)
from metaferry_runtime.sdk.contexts.topic import TopicIntegratorContext


class KafkaTopicsMessages(MessageCatalogue):
    prefix = "METAFERRY-KAFKA-TOPICS"

    CONNECTED = numbered(
        1,
        Severity.STARTUP,
        "Connector {connector_name} catalogues the Kafka brokers {servers} ({cluster}; schema registry: {registry})",
        "The connector reached the cluster.",
        "No action is required.",
    )
    CATALOGUED = numbered(
        2,
        Severity.INFO,
        "Connector {connector_name} catalogued {topics} topics, {groups} consumer groups and {event_types} event"
        " types of cluster {cluster_id} ({changed} elements changed, {archived} archived{unchanged})",
        "The cluster's topics were brought into the repository in one transaction.",
        "No action is required.",
    )
    SUBJECTS_SKIPPED = numbered(
        3,
        Severity.WARNING,
        "Connector {connector_name} catalogued {unlinked} registry subjects on no topic and could not parse"
        " {unparsed}: {subjects}",
        "A subject names no catalogued topic under the subject name strategies, or its schema did not parse"
        " (its event type is then catalogued without attributes).",
        "Check subjectNameStrategies and recordTopics, and the schemas named.",
    )
    TOPICS_CHANGED = numbered(
        4,
        Severity.INFO,
        "Connector {connector_name} saw {created} topics created and {deleted} deleted on {servers}",
        "Blocking mode noticed a change of the topic list between refreshes and catalogued the cluster.",
        "No action is required.",
    )


class KafkaTopicsConnector(IntegrationConnector[TopicIntegratorContext]):
    """Catalogues a Kafka cluster: EventBroker, KafkaTopics, consumer groups, registry event types."""

    integration_service = "topic"
    configuration_model = KafkaTopicsSettings

    def __init__(self) -> None:
        super().__init__()
        self._settings = KafkaTopicsSettings()
        self._cluster: Cluster | None = None
        self._registry: SchemaRegistry | None = None
        self._known_topics: frozenset[str] | None = None
        self._stop = threading.Event()

    # --- lifecycle --------------------------------------------------------------------------------------------
    def start(self) -> None:
        cluster = self._configure()
        description = cluster.describe()
        if self._audit_log is not None:
            self.audit_log.log_message(
                "start",
                KafkaTopicsMessages.CONNECTED,
                connector_name=self.connector_name,
                servers=cluster.address,
                cluster=description,
                registry=self._registry.url if self._registry is not None else "none",
            )

    def refresh(self) -> None:
        self._catalogue()

    def engage(self) -> None:
        """Wait a poll interval, then list the topics; catalogue the cluster when the list changed."""
        if self._stop.wait(self._settings.poll_interval_seconds):
            return
        names = self.cluster.topic_names()
        before = self._known_topics
        if before is None or names == before:
            self._known_topics = names if before is None else before
            return
        with self.context.change_batch():
            self._catalogue()
        if self._audit_log is not None:
            self.audit_log.log_message(
                "engage",
                KafkaTopicsMessages.TOPICS_CHANGED,
                connector_name=self.connector_name,
                created=len(names - before),
                deleted=len(before - names),
                servers=self.cluster.address,
            )

    def disconnect(self) -> None:
        self._stop.set()
        if self._cluster is not None:
            self._cluster.close()
        if self._registry is not None:
            self._registry.close()

    def diagnose(self) -> list[Diagnosis]:
        """connect (the cluster's id and brokers), the topics selected, the schema registry."""
        try:
            cluster = self._configure()
            steps = [Diagnosis("connect", True, cluster.describe())]
        except ConnectorError as error:
            return [Diagnosis("connect", False, str(error))]
        try:
            steps.append(Diagnosis("topics", True, f"{len(cluster.topic_names())} topics selected"))
        except ConnectorError as error:
            steps.append(Diagnosis("topics", False, str(error)))
        if self._registry is not None:
            try:
                steps.append(Diagnosis("schema registry", True, f"{len(self._registry.subjects())} subjects"))
            except ConnectorError as error:
                steps.append(Diagnosis("schema registry", False, str(error)))
        return steps

    # --- helpers ----------------------------------------------------------------------------------------------
    @property
    def cluster(self) -> Cluster:
        if self._cluster is None:
            raise ConnectorError("kafka-topics is not configured yet: start() has not run")
        return self._cluster

    def _configure(self) -> Cluster:
        self._settings = self.configuration
        self.disconnect()
        self._stop = threading.Event()
        self._cluster = Cluster(self.connection, self._settings)
        url = self._settings.schema_registry_url
        self._registry = (
            SchemaRegistry(
                url,
                username=self._settings.schema_registry_username,
                password=self.connection.secret(REGISTRY_PASSWORD),
                timeout=self._settings.request_timeout_seconds,
            )
            if url is not None
            else None
        )
        return self._cluster

    def _catalogue(self) -> None:
        """Read everything, plan it, write the difference: in the caller's transaction."""
        cluster = self.cluster
        snapshot = cluster.read()
        subjects: list[SubjectVersion] = self._registry.read() if self._registry is not None else []
        plan = plan_cluster(snapshot, subjects, settings=self._settings, address=cluster.address)
        outcome = write_plan(self.context, plan)
        self._known_topics = frozenset(topic.name for topic in snapshot.topics)
        self._report(plan, outcome, snapshot.cluster_id)

    def _report(self, plan: Plan, outcome: Outcome, cluster_id: str) -> None:
        if self._audit_log is None:
            return
        self.audit_log.log_message(
            "refresh",
            KafkaTopicsMessages.CATALOGUED,
            connector_name=self.connector_name,
            topics=len(plan.topics),
            groups=len(plan.subscribers),
            event_types=len(plan.event_types),
            cluster_id=cluster_id,
            changed=outcome.changed,
            archived=outcome.archived,
            unchanged="; digest unchanged" if outcome.digest_matched else "",
        )
        skipped = sorted({*plan.unlinked_subjects, *plan.unparsed_subjects})
        if skipped:
            self.audit_log.log_message(
                "refresh",
                KafkaTopicsMessages.SUBJECTS_SKIPPED,
                connector_name=self.connector_name,
                unlinked=len(plan.unlinked_subjects),
                unparsed=len(plan.unparsed_subjects),
                subjects=", ".join(skipped[:20]) + (" ..." if len(skipped) > 20 else ""),
            )
