"""The kafka-topics connector's configuration properties.

The endpoint is the bootstrap servers (`host:port[,host:port...]`). Passwords come from the Secret only:
`password` (SASL), `sslKeyPassword` (the client key's passphrase) and `schemaRegistryPassword`; the
configuration names the user and the files, never a password.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Literal, Self

from pydantic import Field, StrictBool, model_validator

from metaferry_runtime.sdk import ConnectorConfiguration

#: Keys of the Secret the connector reads.
SASL_PASSWORD, SSL_KEY_PASSWORD, REGISTRY_PASSWORD = "password", "sslKeyPassword", "schemaRegistryPassword"


class SubjectNameStrategy(StrEnum):
    """How a registry subject names the topic it describes (Confluent's subject name strategies)."""

    TOPIC = "topic"  # <topic>-value, <topic>-key
    TOPIC_RECORD = "topic-record"  # <topic>-<fully qualified record name>
    RECORD = "record"  # <fully qualified record name>: the topics come from recordTopics


class KafkaTopicsSettings(ConnectorConfiguration):
    """Which topics to catalogue, how to reach the brokers and, optionally, the schema registry."""

    include_topics: tuple[str, ...] = Field(
        default=(), description="regular expressions; a topic is catalogued when one matches its whole name"
    )
    exclude_topics: tuple[str, ...] = Field(
        default=(), description="regular expressions; a topic matching one (its whole name) is left out"
    )
    include_internal_topics: StrictBool = Field(
        default=False, description="true or false: catalogue internal topics such as __consumer_offsets"
    )
    consumer_groups: StrictBool = Field(
        default=True, description="true or false: catalogue consumer groups as the subscribers of their topics"
    )
    consumer_lag: StrictBool = Field(
        default=True, description="true or false: record each consumer group's lag on each of its topics"
    )
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", description="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"
    )
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        default="PLAIN", description="PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"
    )
    sasl_username: str | None = Field(
        default=None, min_length=1, description="the SASL user (its password: the Secret's `password`)"
    )
    ssl_ca_location: str | None = Field(default=None, min_length=1, description="a PEM file of CA certificates")
    ssl_certificate_location: str | None = Field(default=None, min_length=1, description="the client certificate (PEM)")
    ssl_key_location: str | None = Field(default=None, min_length=1, description="the client key (PEM)")
    ssl_verify_hostname: StrictBool = Field(default=True, description="true or false: check the broker's host name")
    request_timeout_seconds: float = Field(default=30, gt=0, le=600, description="seconds for each admin request")
    poll_interval_seconds: float = Field(
        default=2, ge=0.1, le=3600, description="seconds between the metadata polls of blocking mode"
    )
    broker_version: str | None = Field(
        default=None, min_length=1, description="the Kafka version to record (the protocol does not report it)"
    )
    schema_registry_url: str | None = Field(
        default=None, pattern=r"^https?://", description="a Confluent-compatible schema registry (http:// or https://)"
    )
    schema_registry_username: str | None = Field(default=None, min_length=1, description="basic-auth user")
    subject_name_strategies: tuple[SubjectNameStrategy, ...] = Field(
        default=(SubjectNameStrategy.TOPIC, SubjectNameStrategy.TOPIC_RECORD),
        min_length=1,
        description="topic, topic-record and/or record",
    )
    record_topics: dict[str, tuple[str, ...]] = Field(
        default_factory=dict,
        description="for the record strategy: fully qualified record name -> the topics that carry it",
    )

    @model_validator(mode="after")
    def _patterns_compile(self) -> Self:
        for what, patterns in (("includeTopics", self.include_topics), ("excludeTopics", self.exclude_topics)):
            for pattern in patterns:
                try:
                    re.compile(pattern)
                except re.error as error:
                    raise ValueError(f"{what}: {pattern!r} is not a regular expression ({error})") from None
        return self

    def selects(self, topic: str, *, internal: bool) -> bool:
        """True when the topic is to be catalogued."""
        if internal and not self.include_internal_topics:
            return False
        if self.include_topics and not any(re.fullmatch(p, topic) for p in self.include_topics):
            return False
        return not any(re.fullmatch(p, topic) for p in self.exclude_topics)
