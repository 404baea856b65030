"""kafka-topics refreshes of a real Kafka broker holding 2,000 topics, beside a floor measured in the same run.

Starts a throw-away Apache Kafka broker (tests/kafka_server.py: KRaft, one node, jars installed by
scripts/install-kafka.sh when missing), creates the topics (1 partition each, a few with their own retention
or cleanup policy) and drives the connector the way the runtime does: configured through the test kit's
harness (the runtime's own configuration path), each refresh inside `context.refresh_batch(...)`, so the
real path is measured: the admin requests, the planning, the context, the repository (embedded SQLite),
deletion detection, the commit.

1. Floor: a bare script with its own AdminClient making the same requests the connector makes: one
   metadata request (list_topics), one DescribeConfigs for every topic, one ListGroups. Target: the first
   refresh takes at most 2x the floor.
2. A refresh with nothing changed (same requests; the digest on the broker element matches, so every element
   is marked observed and nothing is written). Target: at most 2x the floor.
3. A refresh after 20 topics changed their retention, for information.

Run: python benchmarks/kafka_topics.py [--topics N] [--repeat R]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import stopwatch, table
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.admin._config import AlterConfigOpType, ConfigEntry, ConfigResource
from confluent_kafka.admin._resource import ResourceType

from metaferry_runtime.connectors.kafka_topics import KafkaTopicsConnector
from metaferry_runtime.testing import ConnectorHarness
from tests.kafka_server import start_kafka

BATCH = 250


def create_topics(admin: AdminClient, count: int) -> list[str]:
    names = [f"bench.topic-{number:05d}" for number in range(count)]
    for start in range(0, count, BATCH):
        new = [
            NewTopic(name, 1, 1, config={"retention.ms": "3600000"} if number % 50 == 0 else {})
            for number, name in enumerate(names[start : start + BATCH], start)
        ]
        for future in admin.create_topics(new, operation_timeout=120).values():
            future.result(timeout=180)
    deadline = time.monotonic() + 300
    while len(set(names) & set(admin.list_topics(timeout=60).topics)) < count:  # created is not yet listed
        if time.monotonic() > deadline:
            raise SystemExit(f"the broker did not list the {count} topics within 300 s")
        time.sleep(0.5)
    return names


def floor(admin: AdminClient) -> float:
    """The connector's admin requests in a bare script: metadata, every topic's configs, the groups. The
    client is connected already, as the connector's is after start()."""
    with stopwatch() as elapsed:
        metadata = admin.list_topics(timeout=60)
        names = sorted(name for name in metadata.topics if not name.startswith("__"))
        resources = [ConfigResource(ResourceType.TOPIC, name) for name in names]
        configs = {r.name: f.result(timeout=60) for r, f in admin.describe_configs(resources).items()}
        kept = {name: (len(metadata.topics[name].partitions), configs[name]["retention.ms"].value) for name in names}
        admin.list_consumer_groups().result(timeout=60)
    assert len(kept) == len(names)
    return elapsed[0]


def alter_retention(admin: AdminClient, names: list[str]) -> None:
    entries = [ConfigEntry("retention.ms", "7200000", incremental_operation=AlterConfigOpType.SET)]
    resources = [ConfigResource(ResourceType.TOPIC, name, incremental_configs=entries) for name in names]
    for future in admin.incremental_alter_configs(resources).values():
        future.result(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--topics", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=5, help="floor and no-change runs; the median is shown")
    args = parser.parse_args()

    broker = start_kafka()
    try:
        admin = broker.admin()
        with stopwatch() as created:
            names = create_topics(admin, args.topics)
        print(f"created {len(names)} topics in {created[0]:.1f}s", file=sys.stderr)
        bare = AdminClient({"bootstrap.servers": broker.bootstrap, "log_level": 0})
        floor(bare)  # connect, and warm the broker's metadata and config caches once, for both sides
        floors = [floor(bare) for _ in range(args.repeat)]
        floor_s = statistics.median(floors)

        with ConnectorHarness.create(
            KafkaTopicsConnector,
            endpoint=broker.bootstrap,
            configuration_properties={"includeTopics": ["bench\\..*"]},
        ) as harness:
            with stopwatch() as first:
                counts = harness.refresh()
            assert counts.created >= args.topics, counts
            unchanged = []
            for _ in range(args.repeat):
                with stopwatch() as elapsed:
                    counts = harness.refresh()
                assert counts.created == counts.updated == counts.archived == 0, counts
                unchanged.append(elapsed[0])
            alter_retention(admin, names[:20])
            with stopwatch() as changed:
                counts = harness.refresh()
            assert counts.updated >= 20, counts
        no_change_s = statistics.median(unchanged)
        rows = [
            ("floor: list_topics + describe_configs + list_groups", f"{floor_s:.3f}", "1.00", ""),
            ("first refresh", f"{first[0]:.3f}", f"{first[0] / floor_s:.2f}", "<= 2x floor"),
            ("no-change refresh", f"{no_change_s:.3f}", f"{no_change_s / floor_s:.2f}", "<= 2x floor"),
            ("refresh after 20 retention changes", f"{changed[0]:.3f}", f"{changed[0] / floor_s:.2f}", ""),
        ]
        print(f"kafka-topics: {args.topics} topics on a real Kafka broker (median of {args.repeat} where repeated)")
        print(table(["measure", "seconds", "x floor", "target"], rows))
    finally:
        broker.stop()


if __name__ == "__main__":
    main()
