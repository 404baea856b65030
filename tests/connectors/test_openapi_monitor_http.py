"""openapi-monitor over HTTP, against a real server on loopback (tests/connectors/openapi_server.py):
conditional requests (an unchanged document costs one 304), well-known paths below a base URL, bearer and
basic auth from the Secret, and a target that fails alone."""

from __future__ import annotations

import json
from typing import Any

import pytest

from metaferry_runtime.connectors.openapi_monitor import OpenAPIMonitorConnector
from metaferry_runtime.resource.spec import DeletionDetection
from metaferry_runtime.sdk import ConnectorConfigurationError, ConnectorError
from metaferry_runtime.testing import ConnectorHarness, assert_refresh_writes_nothing, element_named, elements_under
from tests.connectors.openapi_server import DocumentServer, serving


def api(title: str, *paths: str, summary: str = "list") -> str:
    return json.dumps(
        {
            "openapi": "3.0.3",
            "info": {"title": title, "version": "1"},
            "paths": {
                path: {"get": {"summary": summary, "responses": {"200": {"description": "ok"}}}} for path in paths
            },
        }
    )


def harness(
    endpoint: str | None, *, targets: list[str] | None = None, secrets: dict[str, str] | None = None, **properties: Any
) -> ConnectorHarness[OpenAPIMonitorConnector]:
    return ConnectorHarness.create(
        OpenAPIMonitorConnector,
        endpoint=endpoint,
        catalog_targets=targets or [],
        secrets=secrets,
        configuration_properties=properties or None,
    )


def audit_texts(h: ConnectorHarness[OpenAPIMonitorConnector], severity: str) -> list[str]:
    return [record.text for record in h.audit_records() if record.severity == severity]


def test_an_unchanged_document_costs_one_304_and_writes_nothing(document_server: DocumentServer) -> None:
    document_server.put("/openapi.json", api("Orders", "/orders"))
    with harness(document_server.url("/openapi.json")) as h:
        h.refresh()
        assert document_server.count(200) == 1
        assert_refresh_writes_nothing(h)
        assert document_server.count(304, "/openapi.json") == 1
        assert document_server.count(200) == 1  # the body was not sent again
        assert "1 documents unchanged (1 answered 304)" in audit_texts(h, "Information")[-1]


def test_last_modified_alone_also_makes_an_unchanged_document_a_304(document_server: DocumentServer) -> None:
    document_server.etags = False
    document_server.put("/openapi.json", api("Orders", "/orders"))
    with harness(document_server.url("/openapi.json")) as h:
        h.refresh()
        assert_refresh_writes_nothing(h)
        assert document_server.count(304) == 1


def test_a_server_without_validators_sends_the_body_and_the_same_digest_writes_nothing(
    document_server: DocumentServer,
) -> None:
    document_server.etags = document_server.last_modified = False
    document_server.put("/openapi.json", api("Orders", "/orders"))
    with harness(document_server.url("/openapi.json")) as h:
        h.refresh()
        assert_refresh_writes_nothing(h)
        assert document_server.count(200) == 2 and document_server.count(304) == 0


def test_a_changed_document_is_fetched_and_catalogued_again(document_server: DocumentServer) -> None:
    document_server.put("/openapi.json", api("Orders", "/orders"))
    with harness(document_server.url("/openapi.json")) as h:
        h.refresh()
        document_server.put("/openapi.json", api("Orders", "/orders", "/refunds", summary="all of them"))
        h.refresh()
        assert set(elements_under(h, "APIOperation")) == {
            "openapi:Orders/1::GET /orders",
            "openapi:Orders/1::GET /refunds",
        }
        assert element_named(h, "openapi:Orders/1::GET /orders").properties["summary"] == "all of them"


def test_a_yaml_document_is_read(document_server: DocumentServer) -> None:
    document_server.put(
        "/openapi.yaml",
        "openapi: 3.0.3\ninfo: {title: Orders, version: '1'}\npaths:\n  /orders:\n    get:\n      responses:\n"
        "        '200': {description: ok}\n",
        content_type="application/yaml",
    )
    with harness(document_server.base) as h:  # a base URL: /openapi.json is missing, /openapi.yaml is there
        h.refresh()
        assert set(elements_under(h, "APIOperation")) == {"openapi:Orders/1::GET /orders"}


def test_a_base_url_finds_the_document_at_a_well_known_path_once(document_server: DocumentServer) -> None:
    document_server.put("/service/v3/api-docs", api("Orders", "/orders"))
    with harness(document_server.url("/service")) as h:
        h.refresh()
        assert set(elements_under(h, "DeployedAPI")) == {"openapi:Orders/1"}
        missed = document_server.count(404)
        assert missed == 3  # /service, /service/openapi.json, /service/openapi.yaml
        h.refresh()
        assert document_server.count(404) == missed  # later refreshes go straight to the document
        assert document_server.count(304, "/service/v3/api-docs") == 1


def test_a_base_url_without_any_document_says_what_was_tried(document_server: DocumentServer) -> None:
    with harness(document_server.base) as h, pytest.raises(ConnectorError, match="tried") as raised:
        h.refresh()
    assert "/openapi.json" in str(raised.value) and "/swagger.json" in str(raised.value)


def test_the_bearer_token_from_the_secret_is_sent_and_a_refusal_says_so(document_server: DocumentServer) -> None:
    document_server.token = "the-right-token-123"
    document_server.put("/openapi.json", api("Orders", "/orders"))
    with harness(document_server.url("/openapi.json"), secrets={"token": "the-right-token-123"}) as h:
        h.refresh()
        assert set(elements_under(h, "DeployedAPI")) == {"openapi:Orders/1"}
    with harness(document_server.url("/openapi.json"), secrets={"token": "a-wrong-token-456"}) as h:
        with pytest.raises(ConnectorError, match="refused the credentials") as raised:
            h.refresh()
        assert "a-wrong-token-456" not in str(raised.value)
        assert not any("a-wrong-token-456" in str(record) for record in h.audit_records())


def test_basic_auth_from_the_secret(document_server: DocumentServer) -> None:
    document_server.basic = ("reader", "s3cret-password")
    document_server.put("/openapi.json", api("Orders", "/orders"))
    secrets = {"username": "reader", "password": "s3cret-password"}
    with harness(document_server.url("/openapi.json"), secrets=secrets) as h:
        h.refresh()
        assert set(elements_under(h, "DeployedAPI")) == {"openapi:Orders/1"}


def test_credentials_go_only_to_the_servers_the_user_named(document_server: DocumentServer) -> None:
    document_server.token = "the-right-token-123"
    with serving() as other:
        other.put("/order.json", json.dumps({"type": "object", "properties": {"id": {"type": "string"}}}))
        document = json.loads(api("Orders", "/orders"))
        document["paths"]["/orders"]["get"]["responses"]["200"]["content"] = {
            "application/json": {"schema": {"$ref": other.url("/order.json")}}
        }
        document_server.put("/openapi.json", json.dumps(document))
        with harness(document_server.url("/openapi.json"), secrets={"token": "the-right-token-123"}) as h:
            h.refresh()
            assert element_named(h, "openapi:Orders/1::GET /orders::response::body.id")
        assert other.authorizations and set(other.authorizations) == {None}
        assert set(document_server.authorizations) == {"Bearer the-right-token-123"}


def test_a_target_that_fails_fails_alone_and_archives_nothing(document_server: DocumentServer) -> None:
    document_server.put("/orders.json", api("Orders", "/orders"))
    document_server.put("/users.json", api("Users", "/users"))
    with harness(document_server.url("/orders.json"), targets=[document_server.url("/users.json")]) as h:
        h.refresh()
        document_server.failing["/orders.json"] = 503
        document_server.put("/users.json", api("Users", "/users", "/groups"))
        h.refresh()
        assert set(elements_under(h, "APIOperation")) == {
            "openapi:Orders/1::GET /orders",  # not archived: its document could not be fetched
            "openapi:Users/1::GET /users",
            "openapi:Users/1::GET /groups",  # the other target was refreshed
        }
        [error] = audit_texts(h, "Error")
        assert "/orders.json answered 503" in error
        del document_server.failing["/orders.json"]
        document_server.put("/orders.json", api("Orders", "/refunds"))
        h.refresh()
        assert set(elements_under(h, "APIOperation", "openapi:Orders/1::")) == {"openapi:Orders/1::GET /refunds"}


def test_an_unreachable_server_fails_the_refresh_and_archives_nothing(document_server: DocumentServer) -> None:
    document_server.put("/openapi.json", api("Orders", "/orders"))
    with harness(document_server.url("/openapi.json"), timeoutSeconds=2) as h:
        h.refresh()
        document_server.stop()
        with pytest.raises(ConnectorError, match="cannot fetch"):
            h.refresh()
        assert set(elements_under(h, "APIOperation")) == {"openapi:Orders/1::GET /orders"}


def test_an_endpoint_holding_credentials_is_refused() -> None:
    with pytest.raises(ConnectorConfigurationError, match="put them in the Secret"):
        harness("https://reader:hunter22@api.example.com/openapi.json")


def test_the_same_document_served_by_two_servers_is_one_api_with_both_endpoints(
    document_server: DocumentServer,
) -> None:
    with serving() as other:
        for server in (document_server, other):
            document = json.loads(api("Orders", "/orders"))
            document["servers"] = [{"url": "/api"}]  # relative: each server names itself
            server.put("/openapi.json", json.dumps(document))
        with harness(document_server.url("/openapi.json"), targets=[other.url("/openapi.json")]) as h:
            h.refresh()
            [only] = elements_under(h, "DeployedAPI").values()
            endpoints = h.connector.context.get_api_endpoints(only.guid)
            assert {e.properties["networkAddress"] for e in endpoints} == {
                document_server.url("/api"),
                other.url("/api"),
            }


def test_diagnose_says_which_target_has_documents_and_which_does_not(document_server: DocumentServer) -> None:
    document_server.put("/openapi.json", api("Orders", "/orders"))
    missing = document_server.url("/nothing/openapi.json")
    with harness(document_server.base, targets=[missing]) as h:
        steps = {step.name: step for step in h.connector.diagnose()}
    assert steps[f"target {document_server.base}"].ok
    assert f"1 documents: {document_server.url('/openapi.json')}" == steps[f"target {document_server.base}"].detail
    assert not steps[f"target {missing}"].ok and "404" in steps[f"target {missing}"].detail


def test_a_document_served_over_http_cannot_make_the_connector_read_local_files(
    document_server: DocumentServer, tmp_path: Any
) -> None:
    secret = tmp_path / "local.json"
    secret.write_text(json.dumps({"type": "object", "properties": {"leaked": {"type": "string"}}}))
    document = json.loads(api("Orders", "/orders"))
    document["paths"]["/orders"]["get"]["responses"]["200"]["content"] = {
        "application/json": {"schema": {"$ref": secret.as_uri()}}
    }
    document_server.put("/openapi.json", json.dumps(document))
    with harness(document_server.url("/openapi.json"), validation="off") as h:
        h.refresh()
        assert set(elements_under(h, "APIOperation")) == set()  # the operation is left out, and said why
        assert not elements_under(h, "APIParameter")
        [unreadable] = audit_texts(h, "Warning")
        assert "cannot refer to local files" in unreadable


def index(*groups: str, generation: int = 1) -> str:
    """A document index as the Kubernetes API server serves /openapi/v3."""
    return json.dumps(
        {"paths": {group: {"serverRelativeURL": f"/openapi/v3/{group}?hash={generation}"} for group in groups}}
    )


def test_a_document_index_gives_an_api_per_group_and_a_group_that_goes_is_archived(
    document_server: DocumentServer,
) -> None:
    document_server.put("/openapi/v3", index("apis/shop/v1", "apis/people/v1"))
    document_server.put("/openapi/v3/apis/shop/v1", api("Cluster", "/apis/shop/v1/orders"))
    document_server.put("/openapi/v3/apis/people/v1", api("Cluster", "/apis/people/v1/users"))
    deletion = DeletionDetection(max_archive_percent=100)
    with ConnectorHarness.create(
        OpenAPIMonitorConnector, endpoint=document_server.base, deletion_detection=deletion
    ) as h:
        h.refresh()
        assert set(elements_under(h, "DeployedAPI")) == {
            "openapi:Cluster/1/apis/shop/v1",
            "openapi:Cluster/1/apis/people/v1",
        }
        assert_refresh_writes_nothing(h)
        assert document_server.count(304, "/openapi/v3/apis/shop/v1") == 1

        document_server.put("/openapi/v3", index("apis/shop/v1", generation=2))
        document_server.put("/openapi/v3/apis/shop/v1", api("Cluster", "/apis/shop/v1/orders", "/apis/shop/v1/refunds"))
        h.refresh()
        assert set(elements_under(h, "DeployedAPI")) == {"openapi:Cluster/1/apis/shop/v1"}
        assert set(elements_under(h, "APIOperation")) == {
            "openapi:Cluster/1/apis/shop/v1::GET /apis/shop/v1/orders",
            "openapi:Cluster/1/apis/shop/v1::GET /apis/shop/v1/refunds",
        }
        assert_refresh_writes_nothing(h)


def test_a_relative_external_ref_is_fetched_from_beside_the_document_with_its_credentials(
    document_server: DocumentServer,
) -> None:
    document_server.token = "the-right-token-123"
    document_server.put("/api/schemas/order.yaml", "Order:\n  type: object\n  properties:\n    id: {type: string}\n")
    document = json.loads(api("Orders", "/orders"))
    document["paths"]["/orders"]["get"]["responses"]["200"]["content"] = {
        "application/json": {"schema": {"$ref": "schemas/order.yaml#/Order"}}
    }
    document_server.put("/api/openapi.json", json.dumps(document))
    with harness(document_server.url("/api/openapi.json"), secrets={"token": "the-right-token-123"}) as h:
        h.refresh()
        assert element_named(h, "openapi:Orders/1::GET /orders::response::body.id").properties["dataType"] == "string"
        assert audit_texts(h, "Warning") == []  # the validator resolved it the same way
    assert document_server.count(200, "/api/schemas/order.yaml") >= 1
    assert document_server.count(401) == 0
