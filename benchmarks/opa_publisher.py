"""opa-publisher: a change in open metadata -> the decision changed in Open Policy Agent, p50/p99.

Starts a real OPA (built by scripts/install-opa.sh, token authentication, on loopback), catalogues N assets
(default 1,000) in 20 zones, 100 users in 10 groups, loads a Rego policy ("a user may read an asset when one
of the user's groups may read one of its zones"), starts the connector as the runtime does and refreshes it
once. Then, C times (default 200) for each kind of change, another source changes the repository so that
OPA's decision for one user and a probe asset flips, and the clock runs until it has: the repository
commit, the event's delivery, the connector's work, its PATCH and OPA's evaluation are all inside it.
"asset zones": the probe joins or leaves a zone the user's group may read; "zone access": the zone's
SecurityTags let the group read it or not (the connector applies both from the event); "group membership":
the user joins or leaves a group that may read the probe's zone (the connector reads every user and group
again, so this one grows with the directory).

Floor, same run, same OPA: a bare PUT of the same document (with the probe's zones changed the same way)
followed by the decision query, C times. Target: p99 <= 1 s.

With METAFERRY_TEST_POSTGRES_URL set the benchmark also runs on PostgreSQL, the writer on a repository
object of its own, so the event reaches the connector by LISTEN/NOTIFY as it does from another pod.

Run: python benchmarks/opa_publisher.py [--assets N] [--changes C]
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from _common import drop_postgres_database, fresh_postgres_database, percentile, table

from metaferry_runtime.connectors.opa_publisher import OpaPublisherConnector
from metaferry_runtime.connectors.opa_publisher.document import read_document
from metaferry_runtime.repository import MetadataRepository, open_repository
from metaferry_runtime.resource.spec import PermittedSynchronization
from metaferry_runtime.sdk.contexts import create_context
from metaferry_runtime.sdk.contexts.catalog import CatalogIntegratorContext
from metaferry_runtime.sdk.contexts.security import SecurityIntegratorContext
from metaferry_runtime.testing import ConnectorHarness, build_manifest
from tests.opa_server import OpaServer, start_opa

ZONES, GROUPS, USERS = 20, 10, 100
PROBE = "bench://probe"
DEADLINE = 30.0  # seconds one change may take before the benchmark gives up on it
POLICY = """package bench

import rego.v1

default allow := false

allow if {
  some zone in data.metaferry_bench.assets[input.asset].zones
  some group in data.metaferry_bench.users[input.user].groups
  group in data.metaferry_bench.zones[zone].accessGroups.read
}
"""


def seed(
    repository: MetadataRepository, assets: int
) -> tuple[SecurityIntegratorContext, CatalogIntegratorContext, str]:
    """The catalogue; returns the writers' contexts and the probe asset's GUID (in zone1, which user0 may not read)."""
    security = create_context(
        "security", repository=repository, connector_name="office", metadata_source_qualified_name="office"
    )
    catalog = create_context(
        "catalog", repository=repository, connector_name="steward", metadata_source_qualified_name="steward"
    )
    assert isinstance(security, SecurityIntegratorContext) and isinstance(catalog, CatalogIntegratorContext)
    with security.change_batch():
        users = [security.create_user_identity(f"user:{i}", {"userId": f"user{i}"}) for i in range(USERS)]
        for g in range(GROUPS):
            group = security.create_security_group(f"group{g}", {"name": f"group{g}"})
            for u in range(g, USERS, GROUPS):
                security.add_user_to_security_group(group, users[u])
        for z in range(ZONES):
            security.create_governance_zone(
                f"zone:{z}",
                {"name": f"zone{z}"},
                classifications={"SecurityTags": {"accessGroups": {"read": [f"group{z % GROUPS}"]}}},
            )
    with catalog.change_batch():
        for a in range(assets):
            catalog.create_data_asset(
                f"bench://asset/{a}", {"name": f"asset{a}"}, type_name="DataSet", zones=[f"zone{a % ZONES}"]
            )
        probe = catalog.create_data_asset(PROBE, {"name": "probe"}, type_name="DataSet", zones=["zone1"])
    return security, catalog, probe


def decision(client: httpx.Client, opa: OpaServer) -> bool:
    # user0 is in group0, which may read zone0 (and zone10); the probe is always in zone1.
    response = client.post(
        f"{opa.url}/v1/data/bench/allow",
        json={"input": {"user": "user0", "asset": PROBE}},
        headers={"Authorization": f"Bearer {opa.admin_token}"},
    )
    response.raise_for_status()
    return bool(response.json()["result"])


def wait_for_decision(client: httpx.Client, opa: OpaServer, expected: bool) -> None:
    deadline = time.monotonic() + DEADLINE
    while decision(client, opa) is not expected:
        if time.monotonic() > deadline:
            raise SystemExit(f"OPA's decision did not become {expected} within {DEADLINE}s")


def measure_connector(
    opa: OpaServer, client: httpx.Client, *, url: str, writer_url: str | None, assets: int, changes: int
) -> tuple[dict[str, list[float]], dict[str, Any]]:
    """The connector's latencies for each kind of change, and the document it published (for the floor).

    "asset zones": the probe asset joins or leaves zone0; "zone access": zone1's SecurityTags let group0 read
    it or not (both applied from the event); "group membership": user0 joins or leaves group1, which may
    read zone1 (users and groups are read again)."""
    repository = open_repository(url)
    writer_repository = open_repository(writer_url) if writer_url else repository
    security, catalog, probe = seed(writer_repository, assets)
    zone1 = security.get_governance_zones_by_name("zone1")[0].guid
    group1 = security.get_security_groups_by_name("group1")[0].guid
    user0 = security.get_user_identities_by_name("user:0")[0].guid
    resource = build_manifest(
        OpaPublisherConnector,
        endpoint=opa.url,
        configuration_properties={"documentPath": "metaferry_bench"},
        permitted_synchronization=PermittedSynchronization.TO_THIRD_PARTY,
    )
    harness = ConnectorHarness(
        OpaPublisherConnector, resource=resource, repository=repository, secrets={"token": opa.publisher_token}
    )

    def asset_zones(opened: bool) -> None:
        if opened:
            catalog.publish_data_asset(probe, ["zone0"])
        else:
            catalog.withdraw_data_asset(probe, ["zone0"])

    def zone_access(opened: bool) -> None:
        readers = ["group0", "group1"] if opened else ["group1"]
        security.add_security_tags(zone1, {"accessGroups": {"read": readers}})

    def membership(opened: bool) -> None:
        if opened:
            security.add_user_to_security_group(group1, user0)
        else:
            security.remove_user_from_security_group(group1, user0)

    latencies: dict[str, list[float]] = {}
    try:
        harness.configure()
        harness.start()
        harness.refresh()
        assert isinstance(harness.context, SecurityIntegratorContext)
        with harness.context.change_batch():
            document = read_document(harness.context)
        kinds = (("asset zones", asset_zones), ("zone access", zone_access), ("group membership", membership))
        for kind, change in kinds:
            wait_for_decision(client, opa, False)
            latencies[kind] = []
            for number in range(changes):
                opened = number % 2 == 0
                started = time.perf_counter()
                change(opened)
                wait_for_decision(client, opa, opened)
                latencies[kind].append(time.perf_counter() - started)
    finally:
        harness.disconnect()
        catalog.disconnect()
        security.disconnect()
        if writer_repository is not repository:
            writer_repository.close()
        repository.close()
    return latencies, document


def measure_floor(opa: OpaServer, client: httpx.Client, document: dict[str, Any], changes: int) -> list[float]:
    """A bare PUT of the same document, the probe's zones changed, then the decision query until it flips."""
    headers = {"Authorization": f"Bearer {opa.publisher_token}"}
    closed = copy.deepcopy(document)
    closed["assets"][PROBE]["zones"] = ["zone1"]
    opened = copy.deepcopy(document)
    opened["assets"][PROBE]["zones"] = ["zone0", "zone1"]
    client.put(f"{opa.url}/v1/data/metaferry_bench", json=closed, headers=headers).raise_for_status()
    latencies: list[float] = []
    for change in range(changes):
        is_open = change % 2 == 0
        started = time.perf_counter()
        body = opened if is_open else closed
        client.put(f"{opa.url}/v1/data/metaferry_bench", json=body, headers=headers).raise_for_status()
        wait_for_decision(client, opa, is_open)
        latencies.append(time.perf_counter() - started)
    return latencies


def row(name: str, floor: list[float], measured: list[float]) -> list[object]:
    p50, p99 = percentile(measured, 0.5), percentile(measured, 0.99)
    f50, f99 = percentile(floor, 0.5), percentile(floor, 0.99)
    return [
        name,
        f"{f50 * 1000:.1f}",
        f"{f99 * 1000:.1f}",
        f"{p50 * 1000:.1f}",
        f"{p99 * 1000:.1f}",
        f"{p99 / f99:.1f}x",
        "yes" if p99 <= 1.0 else "NO",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assets", type=int, default=1_000)
    parser.add_argument("--changes", type=int, default=200)
    args = parser.parse_args()
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory(prefix="metaferry-bench-opa-") as work:
        opa = start_opa(Path(work) / "opa")
        try:
            opa.load_policy("bench", POLICY)
            with httpx.Client(timeout=10) as client:
                url = f"sqlite:///{work}/repository.db"
                latencies, document = measure_connector(
                    opa, client, url=url, writer_url=None, assets=args.assets, changes=args.changes
                )
                floor = measure_floor(opa, client, document, args.changes)
                rows += [row(f"SQLite, writer in-process: {kind}", floor, seen) for kind, seen in latencies.items()]
                server = os.environ.get("METAFERRY_TEST_POSTGRES_URL")
                if server:
                    pg_url, name = fresh_postgres_database(server)
                    try:
                        latencies, document = measure_connector(
                            opa, client, url=pg_url, writer_url=pg_url, assets=args.assets, changes=args.changes
                        )
                    finally:
                        drop_postgres_database(server, name)
                    floor = measure_floor(opa, client, document, args.changes)
                    rows += [row(f"PostgreSQL, writer apart: {kind}", floor, seen) for kind, seen in latencies.items()]
        finally:
            opa.stop()
    print(f"opa-publisher: change -> decision changed in OPA, {args.changes} changes, {args.assets} assets")
    headers = [
        "repository, writer: change",
        "floor p50 ms",
        "floor p99 ms",
        "p50 ms",
        "p99 ms",
        "p99 vs floor",
        "p99 <= 1 s",
    ]
    print(table(headers, rows))
    print(f"(run {uuid.uuid4().hex[:8]}; floor: a bare PUT of the same document, then the decision query)")


if __name__ == "__main__":
    main()
