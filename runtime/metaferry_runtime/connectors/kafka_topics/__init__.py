"""The `kafka-topics` connector of the topic integration service (see `connector.py`)."""

from metaferry_runtime.connectors.kafka_topics.connector import KafkaTopicsConnector, KafkaTopicsMessages

__all__ = ["KafkaTopicsConnector", "KafkaTopicsMessages"]
