"""opa-publisher against a real Open Policy Agent (`opa run --server`, token authentication on loopback).

Open metadata is written by two other sources, as in a deployment: a security office (groups, people, zones
and who may access each zone) and a catalog steward (assets, their zones and confidentiality). A small Rego
policy lets a user read an asset when one of the user's groups may read one of the asset's zones; the tests
ask OPA for that decision before and after the repository changes.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from metaferry_runtime.check import check_connector
from metaferry_runtime.connectors.opa_publisher import OpaPublisherConnector, OpaPublisherMessages
from metaferry_runtime.connectors.opa_publisher.document import read_document
from metaferry_runtime.repository import MetadataRepository
from metaferry_runtime.resource.spec import PermittedSynchronization
from metaferry_runtime.sdk import ConnectorConfigurationError, ConnectorError, SynchronizationNotPermitted
from metaferry_runtime.sdk.contexts import create_context
from metaferry_runtime.sdk.contexts.catalog import CatalogIntegratorContext
from metaferry_runtime.sdk.contexts.security import SecurityIntegratorContext
from metaferry_runtime.testing import ConformanceFailure, ConnectorHarness, build_manifest, conformance
from metaferry_runtime.testing.faults import CountingRepository
from metaferry_runtime.testing.resources import ProcessResources
from tests.opa_server import REPO_ROOT, OpaServer
from tests.waiting import wait_for

EXAMPLE = REPO_ROOT / "examples" / "opa-publisher.yaml"
EXAMPLE_POLICY = REPO_ROOT / "examples" / "opa-access.rego"
EXAMPLE_SAMPLE = REPO_ROOT / "examples" / "opa-sample.py"
ORDERS = "postgres://db.example:5432/shop.public.orders"
CAMPAIGNS = "postgres://db.example:5432/shop.public.campaigns"

POLICY = """package {package}

import rego.v1

default allow := false

allow if {{
  input.action == "read"
  some zone in data.{document}.assets[input.asset].zones
  some group in data.{document}.users[input.user].groups
  group in data.{document}.zones[zone].accessGroups.read
}}
"""


@dataclass
class Office:
    """The other sources' contexts over the repository, and the GUIDs of what they made."""

    security: SecurityIntegratorContext
    catalog: CatalogIntegratorContext
    #: The steward's security context: only an asset's owner may classify it.
    classifier: SecurityIntegratorContext
    guids: dict[str, str]

    def close(self) -> None:
        self.security.disconnect()
        self.catalog.disconnect()
        self.classifier.disconnect()


def seed(repository: MetadataRepository) -> Office:
    """finance-analysts (alice) may read zone finance; marketing (bob) may read zone marketing; orders is in
    finance, campaigns in marketing."""
    security = create_context(
        "security", repository=repository, connector_name="office", metadata_source_qualified_name="security-office"
    )
    catalog = create_context(
        "catalog", repository=repository, connector_name="steward", metadata_source_qualified_name="catalog-steward"
    )
    classifier = create_context(
        "security", repository=repository, connector_name="steward", metadata_source_qualified_name="catalog-steward"
    )
    assert isinstance(security, SecurityIntegratorContext) and isinstance(catalog, CatalogIntegratorContext)
    assert isinstance(classifier, SecurityIntegratorContext)
    guids: dict[str, str] = {}
    for user in ("alice", "bob"):
        guids[user] = security.create_user_identity(f"user:{user}", {"userId": user})
    for group, member in (("finance-analysts", "alice"), ("marketing", "bob")):
        guids[group] = security.create_security_group(group, {"name": group, "distinguishedName": f"cn={group}"})
        security.add_user_to_security_group(guids[group], guids[member])
    for zone, readers in (("finance", ["finance-analysts"]), ("marketing", ["marketing"])):
        guids[zone] = security.create_governance_zone(
            f"zone:{zone}", {"name": zone}, classifications={"SecurityTags": {"accessGroups": {"read": readers}}}
        )
    guids["orders"] = catalog.create_data_asset(ORDERS, {"name": "orders"}, type_name="DataSet", zones=["finance"])
    guids["campaigns"] = catalog.create_data_asset(
        CAMPAIGNS, {"name": "campaigns"}, type_name="DataSet", zones=["marketing"]
    )
    return Office(security=security, catalog=catalog, classifier=classifier, guids=guids)


@dataclass
class Setup:
    opa: OpaServer
    document: str  # the OPA data path of this test's document
    package: str

    def properties(self, **more: Any) -> dict[str, Any]:
        return {"documentPath": self.document, **more}

    def allowed(self, user: str, asset: str) -> bool:
        return bool(self.opa.decide(f"{self.package}/allow", {"user": user, "asset": asset, "action": "read"}))

    def published(self) -> Any:
        return self.opa.data(self.document)


@pytest.fixture
def setup(opa_server: OpaServer) -> Iterator[Setup]:
    """A document path and policy of this test's own on the session's OPA."""
    suffix = uuid.uuid4().hex[:10]
    document, package = f"mf_{suffix}", f"authz_{suffix}"
    opa_server.load_policy(package, POLICY.format(package=package, document=document))
    yield Setup(opa=opa_server, document=document, package=package)
    opa_server.delete_data(document)


def harness_for(
    setup: Setup, *, token: str | None = None, start: bool = True, **properties: Any
) -> ConnectorHarness[Any]:
    return ConnectorHarness.create(
        OpaPublisherConnector,
        endpoint=setup.opa.url,
        configuration_properties=setup.properties(**properties),
        secrets={"token": token or setup.opa.publisher_token},
        permitted_synchronization=PermittedSynchronization.TO_THIRD_PARTY,
        start=start,
    )


@pytest.fixture
def published(setup: Setup) -> Iterator[tuple[ConnectorHarness[Any], Office]]:
    """The connector started and refreshed once over the seeded repository."""
    with harness_for(setup, start=False) as harness:
        office = seed(harness.repository)
        try:
            harness.start()
            harness.refresh()
            yield harness, office
        finally:
            office.close()


def test_decisions_follow_an_assets_zone_change_without_a_refresh(
    setup: Setup, published: tuple[ConnectorHarness[Any], Office]
) -> None:
    _, office = published
    assert setup.allowed("alice", ORDERS) and not setup.allowed("bob", ORDERS)
    assert setup.allowed("bob", CAMPAIGNS) and not setup.allowed("alice", CAMPAIGNS)

    office.catalog.withdraw_data_asset(office.guids["orders"], ["finance"])
    office.catalog.publish_data_asset(office.guids["orders"], ["marketing"])

    wait_for(lambda: setup.allowed("bob", ORDERS), what="bob may read orders once it is in zone marketing")
    assert not setup.allowed("alice", ORDERS)


def test_decisions_follow_a_change_of_who_may_access_a_zone(
    setup: Setup, published: tuple[ConnectorHarness[Any], Office]
) -> None:
    _, office = published
    office.security.add_security_tags(office.guids["finance"], {"accessGroups": {"read": ["marketing"]}})
    wait_for(lambda: setup.allowed("bob", ORDERS), what="bob may read orders once marketing may read finance")
    assert not setup.allowed("alice", ORDERS)
    office.security.clear_security_tags(office.guids["finance"])
    wait_for(lambda: not setup.allowed("bob", ORDERS), what="nobody may read finance once its tags are cleared")
    assert not setup.allowed("alice", ORDERS)


def test_decisions_follow_group_membership(setup: Setup, published: tuple[ConnectorHarness[Any], Office]) -> None:
    _, office = published
    office.security.add_user_to_security_group(office.guids["finance-analysts"], office.guids["bob"])
    wait_for(lambda: setup.allowed("bob", ORDERS), what="bob may read orders once he is a finance analyst")
    office.security.remove_user_from_security_group(office.guids["finance-analysts"], office.guids["alice"])
    wait_for(lambda: not setup.allowed("alice", ORDERS), what="alice may not read orders once she left the group")


def test_the_document_is_shaped_for_policies(setup: Setup, published: tuple[ConnectorHarness[Any], Office]) -> None:
    _, office = published
    office.classifier.set_confidentiality(office.guids["orders"], {"level": 3, "status": "validated"})
    office.classifier.add_security_tags(
        office.guids["orders"], {"securityLabels": ["pii", "gdpr"], "accessGroups": {"update": ["finance-analysts"]}}
    )
    wait_for(lambda: setup.published()["assets"][ORDERS]["confidentiality"] is not None, what="the level")
    wait_for(lambda: setup.published()["assets"][ORDERS]["securityLabels"], what="the labels")
    document = setup.published()
    guids = office.guids
    assert document["users"] == {
        "alice": {"guid": guids["alice"], "qualifiedName": "user:alice", "distinguishedName": None,
                  "groups": ["finance-analysts"]},
        "bob": {"guid": guids["bob"], "qualifiedName": "user:bob", "distinguishedName": None, "groups": ["marketing"]},
    }  # fmt: skip
    assert document["groups"]["finance-analysts"] == {
        "guid": guids["finance-analysts"],
        "name": "finance-analysts",
        "distinguishedName": "cn=finance-analysts",
        "members": ["alice"],
    }
    assert document["zones"]["finance"] == {
        "guid": guids["finance"],
        "qualifiedName": "zone:finance",
        "displayName": None,
        "description": None,
        "criteria": None,
        "securityLabels": [],
        "securityProperties": {},
        "accessGroups": {"read": ["finance-analysts"]},
    }
    assert document["assets"][ORDERS] == {
        "guid": guids["orders"],
        "typeName": "DataSet",
        "name": "orders",
        "zones": ["finance"],
        "confidentiality": {"level": 3, "status": "validated"},
        "securityLabels": ["gdpr", "pii"],
        "securityProperties": {},
        "accessGroups": {"update": ["finance-analysts"]},
    }


def test_after_a_burst_of_changes_opa_holds_what_a_full_read_gives(
    setup: Setup, published: tuple[ConnectorHarness[Any], Office]
) -> None:
    """Asset changes are applied from their events, the others by reading again: both end where a read does."""
    harness, office = published
    guids = office.guids
    for round_ in range(5):
        office.catalog.publish_data_asset(guids["orders"], [f"zone-{round_}"])
        office.classifier.set_confidentiality(guids["campaigns"], {"level": round_})
        office.catalog.update_data_asset(guids["orders"], {"description": f"round {round_}"})
        office.security.update_governance_zone(guids["marketing"], {"description": f"round {round_}"})
        office.catalog.create_data_asset(f"file:///data/{round_}.csv", {"name": f"{round_}.csv"}, zones=["finance"])
    office.catalog.withdraw_data_asset(guids["orders"], ["zone-0", "zone-2"])
    office.catalog.remove_data_asset(guids["campaigns"])
    office.security.remove_user_from_security_group(guids["marketing"], guids["bob"])
    office.security.update_user_identity(guids["alice"], {"distinguishedName": "uid=alice"})
    office.security.update_governance_zone(guids["finance"], {"name": "finance-eu"})  # its key changes
    office.security.remove_governance_zone(guids["marketing"])
    context = harness.connector.context
    with context.change_batch():
        expected = read_document(context)
    assert expected["assets"][ORDERS]["zones"] == ["finance", "zone-1", "zone-3", "zone-4"]
    assert CAMPAIGNS not in expected["assets"] and "file:///data/4.csv" in expected["assets"]
    assert set(expected["zones"]) == {"finance-eu"}
    wait_for(lambda: setup.published() == expected, what="OPA to hold what a full read gives")


def test_an_archived_asset_leaves_the_document(setup: Setup, published: tuple[ConnectorHarness[Any], Office]) -> None:
    _, office = published
    office.catalog.remove_data_asset(office.guids["campaigns"])
    wait_for(lambda: CAMPAIGNS not in setup.published()["assets"], what="campaigns to leave the document")
    assert not setup.allowed("bob", CAMPAIGNS)
    assert ORDERS in setup.published()["assets"]


def test_opa_restarted_without_data_gets_the_whole_document_with_the_next_change(
    setup: Setup, published: tuple[ConnectorHarness[Any], Office]
) -> None:
    harness, office = published
    setup.opa.restart()  # OPA keeps data in memory: it comes back with the policy of its command line only
    setup.opa.load_policy(setup.package, POLICY.format(package=setup.package, document=setup.document))
    assert not setup.allowed("alice", ORDERS)
    office.catalog.publish_data_asset(office.guids["campaigns"], ["finance"])
    wait_for(lambda: setup.allowed("alice", CAMPAIGNS), what="the whole document published again")
    assert setup.allowed("alice", ORDERS) and setup.allowed("bob", CAMPAIGNS)
    republished = [r for r in harness.audit_records() if r.message_id == OpaPublisherMessages.REPUBLISHED.message_id]
    assert len(republished) == 1


def test_a_refresh_replaces_what_someone_else_changed_in_opa(
    setup: Setup, published: tuple[ConnectorHarness[Any], Office]
) -> None:
    harness, _ = published
    setup.opa.delete_data(setup.document)
    assert not setup.allowed("alice", ORDERS)
    harness.refresh()
    assert setup.allowed("alice", ORDERS)


def test_the_connector_never_writes_to_the_repository(setup: Setup) -> None:
    resource = build_manifest(
        OpaPublisherConnector,
        endpoint=setup.opa.url,
        configuration_properties=setup.properties(),
        permitted_synchronization=PermittedSynchronization.TO_THIRD_PARTY,
    )
    with ConnectorHarness.create(
        OpaPublisherConnector, resource, secrets={"token": setup.opa.publisher_token}, configure=False
    ) as owner:
        office = seed(owner.repository)
        counting = CountingRepository(owner.repository)
        harness = ConnectorHarness(
            OpaPublisherConnector, resource=resource, repository=counting, secrets={"token": setup.opa.publisher_token}
        )
        try:
            harness.configure()
            harness.start()
            counts = harness.refresh()
            office.catalog.publish_data_asset(office.guids["orders"], ["marketing"])
            wait_for(lambda: setup.allowed("bob", ORDERS), what="the change published")
            steps = check_connector(resource, counting, {"token": setup.opa.publisher_token})
            assert all(step.ok for step in steps), steps
            assert counting.writes == 0
            assert counts.model_dump() == type(counts)().model_dump()
            events = owner.repository.events_since(0, limit=1000)
            assert not [event for event in events if event.metadata_collection == harness.metadata_source]
            with pytest.raises(SynchronizationNotPermitted):
                harness.connector.context.create_security_group("sneaky", {})
        finally:
            harness.disconnect()
            office.close()


def test_a_rejected_token_fails_start_as_configuration_without_showing_it(setup: Setup) -> None:
    wrong = f"wrong-{uuid.uuid4().hex}"
    with pytest.raises(ConnectorConfigurationError, match="refused the bearer token") as raised:
        harness_for(setup, token=wrong)
    assert wrong not in str(raised.value)


def test_an_unreachable_server_fails_start_to_be_retried(setup: Setup) -> None:
    from tests.opa_server import free_port

    with pytest.raises(ConnectorError, match="cannot reach OPA") as raised:
        ConnectorHarness.create(
            OpaPublisherConnector,
            endpoint=f"http://127.0.0.1:{free_port()}",
            configuration_properties={"connectTimeoutSeconds": 2},
            secrets={"token": setup.opa.publisher_token},
        )
    assert not isinstance(raised.value, ConnectorConfigurationError)


def test_a_failed_publish_is_audited_and_retried_until_opa_is_back(
    setup: Setup, published: tuple[ConnectorHarness[Any], Office]
) -> None:
    harness, office = published
    setup.opa.stop()
    try:
        office.catalog.publish_data_asset(office.guids["campaigns"], ["finance"])
        failed = OpaPublisherMessages.PUBLISH_FAILED.message_id
        wait_for(lambda: any(r.message_id == failed for r in harness.audit_records()), what="the failure audited")
    finally:
        setup.opa.start()
    setup.opa.load_policy(setup.package, POLICY.format(package=setup.package, document=setup.document))
    wait_for(lambda: setup.allowed("alice", CAMPAIGNS), timeout=40, what="the retry to publish the change")


def test_check_diagnoses_each_step(setup: Setup) -> None:
    resource = build_manifest(
        OpaPublisherConnector,
        endpoint=setup.opa.url,
        configuration_properties=setup.properties(),
        permitted_synchronization=PermittedSynchronization.TO_THIRD_PARTY,
    )
    with ConnectorHarness.create(
        OpaPublisherConnector, resource, secrets={"token": setup.opa.publisher_token}, configure=False
    ) as harness:
        office = seed(harness.repository)
        try:
            steps = check_connector(resource, harness.repository, {"token": setup.opa.publisher_token})
        finally:
            office.close()
    shown = {step.name: (step.ok, step.detail) for step in steps}
    assert shown["endpoint"] == (True, setup.opa.url)
    assert shown["connect"] == (True, "OPA answers and accepts the bearer token")
    assert shown["document"] == (True, f"data.{setup.document} is not published yet (the first refresh does)")
    assert shown["open metadata"] == (True, "would publish 2 users, 2 groups, 2 zones, 2 assets")


def test_check_says_the_token_is_refused_without_showing_it(setup: Setup) -> None:
    wrong = f"wrong-{uuid.uuid4().hex}"
    resource = build_manifest(
        OpaPublisherConnector,
        endpoint=setup.opa.url,
        configuration_properties=setup.properties(),
        permitted_synchronization=PermittedSynchronization.TO_THIRD_PARTY,
    )
    with ConnectorHarness.create(OpaPublisherConnector, resource, secrets={"token": wrong}, configure=False) as harness:
        steps = check_connector(resource, harness.repository, {"token": wrong})
    shown = {step.name: (step.ok, step.detail) for step in steps}
    assert shown["connect"][0] is False and "refused the bearer token" in shown["connect"][1]
    assert "document" not in shown
    assert not [step for step in steps if wrong in step.detail]


def test_disconnect_stops_the_publishing_thread_and_closes_its_sockets(setup: Setup) -> None:
    """Two lives over one repository, as the suite's resources check runs them: the first warms the
    repository's connection pool (its connections are the repository's, not the connector's)."""
    resource = build_manifest(
        OpaPublisherConnector,
        endpoint=setup.opa.url,
        configuration_properties=setup.properties(),
        permitted_synchronization=PermittedSynchronization.TO_THIRD_PARTY,
    )
    secrets = {"token": setup.opa.publisher_token}
    with ConnectorHarness.create(OpaPublisherConnector, resource, secrets=secrets, configure=False) as owner:
        office = seed(owner.repository)
        try:
            for zone, reader in (("marketing", "bob"), ("finance", "alice")):
                before = ProcessResources.now()
                harness = ConnectorHarness(
                    OpaPublisherConnector, resource=resource, repository=owner.repository, secrets=secrets
                )
                harness.configure()
                harness.start()
                harness.refresh()
                office.catalog.publish_data_asset(office.guids["campaigns"], [zone])
                wait_for(lambda r=reader: setup.allowed(r, CAMPAIGNS), what=f"campaigns published to {zone}")
                harness.disconnect()
            # The shared repository may open another pooled connection to its file meanwhile: that is the
            # repository's (it outlives the connector), so only what is not its database counts as a leak.
            database = owner.repository.url.removeprefix("sqlite:///")
            leaked = [leak for leak in ProcessResources.now().leaked_since(before) if database not in leak]
            assert leaked == []
        finally:
            office.close()


def test_the_token_is_in_no_audit_record_or_log(setup: Setup, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with harness_for(setup, start=False) as harness:
        office = seed(harness.repository)
        try:
            harness.start()
            harness.refresh()
            office.catalog.publish_data_asset(office.guids["orders"], ["marketing"])
            wait_for(lambda: setup.allowed("bob", ORDERS), what="the change published")
            texts = [str(record.__dict__) for record in harness.audit_records()] + [caplog.text]
        finally:
            office.close()
    assert any("published 2 users" in text for text in texts)
    assert not [text for text in texts if setup.opa.publisher_token in text]


def test_the_conformance_suite_does_not_apply_to_a_publisher(setup: Setup) -> None:
    """The suite needs a first refresh that catalogues something; a TO_THIRD_PARTY connector writes nothing,
    so it stops there. Its other properties are proven above for this connector: idempotence and unchanged
    source (it never writes), resources (disconnect test), secrets (token test); one transaction has no
    writes to fail half-way."""
    with pytest.raises(ConformanceFailure, match="the first refresh wrote nothing"):
        conformance(
            OpaPublisherConnector,
            endpoint=setup.opa.url,
            configuration_properties=setup.properties(),
            secrets={"token": setup.opa.publisher_token},
            permitted_synchronization=PermittedSynchronization.TO_THIRD_PARTY,
        )


def test_the_example_manifest_and_policy_decide_as_the_readme_says(opa_server: OpaServer) -> None:
    opa_server.load_policy("access", EXAMPLE_POLICY.read_text())
    with ConnectorHarness.create(
        OpaPublisherConnector, EXAMPLE, endpoint=opa_server.url, secrets={"token": opa_server.publisher_token},
        start=False,
    ) as harness:  # fmt: skip
        assert harness.resource.spec.permitted_synchronization is PermittedSynchronization.TO_THIRD_PARTY
        office = seed(harness.repository)
        try:
            harness.start()
            harness.refresh()

            def allowed(user: str, action: str) -> bool:
                decision = opa_server.decide("access/allow", {"user": user, "action": action, "asset": ORDERS})
                return bool(decision)

            assert allowed("alice", "read") and not allowed("bob", "read") and not allowed("alice", "update")
            office.classifier.add_security_tags(office.guids["orders"], {"accessGroups": {"update": ["marketing"]}})
            wait_for(lambda: allowed("bob", "update"), what="the asset's own tags to let marketing update it")
            office.catalog.withdraw_data_asset(office.guids["orders"], ["finance"])
            wait_for(lambda: not allowed("alice", "read"), what="orders to leave zone finance")
        finally:
            office.close()
            opa_server.delete_data("metaferry")


def test_the_readmes_sample_metadata_gives_the_decisions_it_shows(opa_server: OpaServer, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'metaferry.db'}"
    for _ in range(2):  # the sample may be written again
        subprocess.run([sys.executable, str(EXAMPLE_SAMPLE), url], check=True, capture_output=True, timeout=120)
    opa_server.load_policy("access", EXAMPLE_POLICY.read_text())
    ledger = "file:///data/finance/ledger.csv"
    with ConnectorHarness.create(
        OpaPublisherConnector, EXAMPLE, endpoint=opa_server.url, repository_url=url,
        secrets={"token": opa_server.publisher_token},
    ) as harness:  # fmt: skip
        try:
            harness.refresh()
            decide = opa_server.decide
            assert decide("access/allow", {"user": "alice", "action": "read", "asset": ledger}) is True
            assert decide("access/allow", {"user": "bob", "action": "read", "asset": ledger}) is False
            assert len(opa_server.data("metaferry/assets")) == 2
        finally:
            opa_server.delete_data("metaferry")
