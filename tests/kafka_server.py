"""A throw-away Apache Kafka broker for the kafka-topics tests and benchmark.

The jars come from Maven Central by scripts/install-kafka.sh (idempotent, cached under
~/.cache/metaferry/kafka). One combined broker and controller node in KRaft mode: `kafka-storage format`
then `kafka.Kafka server.properties`, with a small heap, on free loopback ports. Two client listeners: a
PLAINTEXT one and a SASL_PLAINTEXT one (mechanism PLAIN) whose user and password are made up per run, so
the connector's SASL settings and its handling of the password are exercised against the real broker.
"""

from __future__ import annotations

import base64
import secrets
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from tests.local_servers import (
    REPO_ROOT,
    ServerProcess,
    ServerUnavailable,
    accepts_connections,
    free_port,
    install_tool,
    script_command,
)

INSTALL_SCRIPT = REPO_ROOT / "scripts" / "install-kafka.sh"
START_DEADLINE = 90.0
SASL_USER = "metaferry"


class KafkaUnavailable(ServerUnavailable):
    """Kafka could not be installed or started; the message names the command to run."""


def install_kafka() -> Path:
    """The directory of Kafka's jars, fetched by scripts/install-kafka.sh if they are not cached yet."""
    return install_tool(
        INSTALL_SCRIPT,
        unavailable=KafkaUnavailable,
        directory=True,
        advice=f"Apache Kafka could not be installed; run `{script_command(INSTALL_SCRIPT)}` "
        "(it needs Maven, a Java runtime >= 17 and Maven Central):",
    )


@dataclass
class KafkaBroker:
    libs: Path
    directory: Path
    port: int = field(default_factory=free_port)
    sasl_port: int = field(default_factory=free_port)
    controller_port: int = field(default_factory=free_port)
    sasl_password: str = field(default_factory=lambda: f"kafka-{secrets.token_hex(16)}")

    def __post_init__(self) -> None:
        self.server = ServerProcess("kafka", self.directory / "kafka.log", unavailable=KafkaUnavailable)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def sasl_bootstrap(self) -> str:
        return f"127.0.0.1:{self.sasl_port}"

    def admin(self) -> AdminClient:
        """An AdminClient on the PLAINTEXT listener, for tests to change topics with."""
        return AdminClient({"bootstrap.servers": self.bootstrap, "log_level": 0})

    def _properties(self) -> str:
        jaas = (
            f'org.apache.kafka.common.security.plain.PlainLoginModule required user_{SASL_USER}="{self.sasl_password}";'
        )
        return "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"listeners=PLAINTEXT://127.0.0.1:{self.port},SASL_PLAINTEXT://127.0.0.1:{self.sasl_port},"
                f"CONTROLLER://127.0.0.1:{self.controller_port}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port},SASL_PLAINTEXT://127.0.0.1:{self.sasl_port}",
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
                f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}",
                "sasl.enabled.mechanisms=PLAIN",
                f"listener.name.sasl_plaintext.plain.sasl.jaas.config={jaas}",
                f"log.dirs={self.directory / 'data'}",
                "num.partitions=1",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=3",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                "log.flush.interval.messages=1000000",
                "",
            ]
        )

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.directory / "data", ignore_errors=True)
        config = self.directory / "server.properties"
        config.write_text(self._properties())
        java = [
            "java",
            "-Xmx512m",
            "-Xms128m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-Djava.awt.headless=true",
            "-cp",
            f"{self.libs}/*",
        ]
        # `--cluster-id=<id>`: an id may begin with "-", which kafka-storage would take for an option
        cluster = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        formatted = subprocess.run(
            [*java, "kafka.tools.StorageTool", "format", f"--cluster-id={cluster}", "-c", str(config)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if formatted.returncode != 0:
            raise KafkaUnavailable(f"kafka-storage format failed: {formatted.stdout[-2000:]}{formatted.stderr[-2000:]}")
        self.server.start(
            [*java, "kafka.Kafka", str(config)], answers=self._answers, deadline=START_DEADLINE, poll_interval=0.2
        )

    def _answers(self) -> bool:
        """True once the broker accepts connections and lists itself (the port first: librdkafka logs refusals)."""
        if not accepts_connections(self.port):
            return False
        try:
            return bool(self.admin().list_topics(timeout=5).brokers)
        except KafkaException:
            return False

    def stop(self) -> None:
        self.server.stop(timeout=30)

    def log(self) -> str:
        return self.server.log()


def start_kafka(directory: Path | None = None) -> KafkaBroker:
    broker = KafkaBroker(libs=install_kafka(), directory=directory or Path(tempfile.mkdtemp(prefix="metaferry-kafka-")))
    broker.start()
    return broker
