"""openapi-monitor: what a document becomes in the repository (the Egeria shape, stable names, tags as
search keywords), deletion detection, and documents that break the rules. Real documents from the npm
package @readme/oas-examples (installed by scripts/install-openapi-documents.sh) and small ones written
here where a test needs to change a document between refreshes. HTTP behaviour: test_openapi_monitor_http.py;
the large real-world documents and the Kubernetes API server: test_openapi_monitor_real.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from metaferry_runtime.connectors.openapi_monitor import OpenAPIMonitorConnector
from metaferry_runtime.connectors.openapi_monitor.model import HTTP_VERBS
from metaferry_runtime.resource.spec import DeletionDetection
from metaferry_runtime.sdk import available_connectors
from metaferry_runtime.sdk.contexts.api import APIIntegratorContext
from metaferry_runtime.testing import (
    ConnectorHarness,
    assert_refresh_writes_nothing,
    conformance,
    element_named,
    elements_under,
    last_refresh_changes,
    relationships_between,
)

PETSTORE = "openapi:Swagger Petstore/1.0.0"


def harness(
    endpoint: str, *, deletion: DeletionDetection | None = None, **properties: Any
) -> ConnectorHarness[OpenAPIMonitorConnector]:
    fields: dict[str, Any] = {"deletion_detection": deletion} if deletion else {}
    return ConnectorHarness.create(
        OpenAPIMonitorConnector, endpoint=endpoint, configuration_properties=properties or None, **fields
    )


def context_of(h: ConnectorHarness[OpenAPIMonitorConnector]) -> APIIntegratorContext:
    return h.connector.context


def operations_in(document: dict[str, Any]) -> set[str]:
    """Path and verb of every operation, counted without the connector."""
    return {f"{verb.upper()} {path}" for path, item in document["paths"].items() for verb in item if verb in HTTP_VERBS}


def warnings(h: ConnectorHarness[OpenAPIMonitorConnector]) -> list[str]:
    return [record.text for record in h.audit_records() if record.severity == "Warning"]


def write(path: Path, document: dict[str, Any]) -> str:
    path.write_text(json.dumps(document))
    return str(path)


def small_api(*paths: str, version: str = "1.0") -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "Orders", "version": version, "description": "Orders of the shop"},
        "servers": [{"url": "https://orders.example.com/api"}],
        "paths": {
            path: {
                "get": {
                    "operationId": f"get{path.strip('/').title()}",
                    "tags": ["orders"],
                    "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer", "format": "int32"}}],
                    "responses": {"200": {"description": "ok"}},
                }
            }
            for path in paths
        },
    }


def test_an_openapi_3_document_is_catalogued_as_egeria_does(openapi_documents: Path) -> None:
    source = openapi_documents / "oas-examples/3.0/json/petstore.json"
    document = json.loads(source.read_text())
    with harness(str(source)) as h:
        h.refresh()
        api = element_named(h, PETSTORE)
        assert api.type_name == "DeployedAPI"
        assert api.properties["name"] == "Swagger Petstore"
        assert api.properties["versionIdentifier"] == "1.0.0"
        assert api.properties["deployedImplementationType"] == "OpenAPI 3.0.0"
        assert "sample server Petstore" in api.properties["description"]

        endpoints = context_of(h).get_api_endpoints(api.guid)
        assert [endpoint.properties["networkAddress"] for endpoint in endpoints] == ["http://petstore.swagger.io/v2"]

        operations = elements_under(h, "APIOperation", f"{PETSTORE}::")
        assert {name.removeprefix(f"{PETSTORE}::") for name in operations} == operations_in(document)
        assert {op.guid for op in context_of(h).get_api_operations_for_api(api.guid)} == {
            op.guid for op in operations.values()
        }
        find = operations[f"{PETSTORE}::GET /pet/findByStatus"]
        assert find.properties["operationId"] == "findPetsByStatus"
        assert find.properties["command"] == "GET" and find.properties["path"] == "/pet/findByStatus"
        assert find.properties["tags"] == ["pet"]
        assert find.properties["summary"] == "Finds Pets by status"
        assert operations[f"{PETSTORE}::GET /pet/findByTags"].properties["isDeprecated"] is True

        request = context_of(h).get_api_parameter_lists_for_operation(find.guid, "request")
        assert [element.qualified_name for element in request] == [f"{PETSTORE}::GET /pet/findByStatus::request"]
        status = element_named(h, f"{PETSTORE}::GET /pet/findByStatus::request::query.status")
        assert status.properties["required"] is True
        assert status.properties["dataType"] == "array"
        response = context_of(h).get_api_parameter_lists_for_operation(find.guid, "response")[0]
        names = {p.properties["name"] for p in context_of(h).get_api_parameters_for_list(response.guid)}
        assert names == {"id", "category", "name", "photoUrls", "tags", "status"}  # the items of an array of Pet
        pet_id = element_named(h, f"{PETSTORE}::GET /pet/findByStatus::response::body.id")
        assert pet_id.properties["dataType"] == "integer" and pet_id.properties["format"] == "int64"
        name = element_named(h, f"{PETSTORE}::GET /pet/findByStatus::response::body.name")
        assert name.properties["required"] is True and name.properties["example"] == "doggie"

        login = element_named(h, f"{PETSTORE}::GET /user/login")
        headers = context_of(h).get_api_parameter_lists_for_operation(login.guid, "response")[0]
        located = {p.qualified_name.rsplit("::", 1)[1] for p in context_of(h).get_api_parameters_for_list(headers.guid)}
        assert {"header.X-Rate-Limit", "header.X-Expires-After"} <= located
        assert relationships_between(h, login.qualified_name, headers.qualified_name, type_name="APIResponse")


def test_tags_are_search_keywords_that_find_their_operations(openapi_documents: Path) -> None:
    with harness(str(openapi_documents / "oas-examples/3.0/json/petstore.json")) as h:
        h.refresh()
        context = context_of(h)
        [keyword] = [k for k in context.find_search_keywords("store") if k.properties["keyword"] == "store"]
        assert keyword.properties["description"] == "Access to Petstore orders"
        tagged = {element.qualified_name for element in context.get_elements_for_search_keyword(keyword.guid)}
        assert tagged == {
            f"{PETSTORE}::GET /store/inventory",
            f"{PETSTORE}::POST /store/order",
            f"{PETSTORE}::GET /store/order/{{orderId}}",
            f"{PETSTORE}::DELETE /store/order/{{orderId}}",
        }


def test_a_swagger_2_document_is_catalogued_with_its_body_and_form_parameters(openapi_documents: Path) -> None:
    source = openapi_documents / "oas-examples/2.0/json/petstore.json"
    document = json.loads(source.read_text())
    with harness(str(source)) as h:
        h.refresh()
        api = element_named(h, PETSTORE)
        assert api.properties["deployedImplementationType"] == "Swagger 2.0"
        [endpoint] = context_of(h).get_api_endpoints(api.guid)
        assert endpoint.properties["networkAddress"] == "http://petstore.swagger.io/v2"
        operations = elements_under(h, "APIOperation", f"{PETSTORE}::")
        assert {name.removeprefix(f"{PETSTORE}::") for name in operations} == operations_in(document)
        # a body parameter is its schema's properties; a formData parameter is itself
        assert element_named(h, f"{PETSTORE}::POST /pet::request::body.name").properties["required"] is True
        assert element_named(h, f"{PETSTORE}::POST /pet/{{petId}}::request::formData.name")
        api_key = element_named(h, f"{PETSTORE}::DELETE /pet/{{petId}}::header::header.api_key")
        assert api_key.properties["dataType"] == "string"


def test_the_yaml_and_json_forms_of_a_document_give_the_same_names(openapi_documents: Path) -> None:
    names = []
    for form in ("json/petstore.json", "yaml/petstore.yaml"):
        with harness(str(openapi_documents / "oas-examples/3.0" / form)) as h:
            h.refresh()
            names.append(
                {
                    qualified_name
                    for kind in ("DeployedAPI", "APIOperation", "APIParameter")
                    for qualified_name in elements_under(h, kind)
                }
            )
    assert names[0] == names[1]
    assert len(names[0]) > 100


def test_an_openapi_3_1_document_is_catalogued(openapi_documents: Path) -> None:
    source = openapi_documents / "oas-examples/3.1/json/train-travel.json"
    document = json.loads(source.read_text())
    with harness(str(source)) as h:
        h.refresh()
        [api] = elements_under(h, "DeployedAPI").values()
        assert api.properties["deployedImplementationType"].startswith("OpenAPI 3.1")
        operations = elements_under(h, "APIOperation", f"{api.qualified_name}::")
        assert {name.removeprefix(f"{api.qualified_name}::") for name in operations} == operations_in(document)
        assert warnings(h) == []


def test_a_second_refresh_of_an_unchanged_document_writes_nothing(openapi_documents: Path) -> None:
    with harness(str(openapi_documents / "oas-examples/3.0/json/petstore.json")) as h:
        h.refresh()
        assert_refresh_writes_nothing(h)


def test_an_operation_removed_from_a_document_is_archived_and_the_rest_stay(tmp_path: Path) -> None:
    path = write(tmp_path / "orders.json", small_api("/orders", "/refunds"))
    with harness(path) as h:
        h.refresh()
        assert set(elements_under(h, "APIOperation")) == {
            "openapi:Orders/1.0::GET /orders",
            "openapi:Orders/1.0::GET /refunds",
        }
        write(tmp_path / "orders.json", small_api("/orders"))
        h.refresh()
        assert set(elements_under(h, "APIOperation")) == {"openapi:Orders/1.0::GET /orders"}
        archived = last_refresh_changes(h).archived
        assert archived == {
            "openapi:Orders/1.0::GET /refunds",
            "openapi:Orders/1.0::GET /refunds::request",
            "openapi:Orders/1.0::GET /refunds::request::query.limit",
        }


def test_a_new_version_of_a_document_replaces_the_old_api(tmp_path: Path) -> None:
    path = write(tmp_path / "orders.json", small_api("/orders", version="1.0"))
    with harness(path, deletion=DeletionDetection(max_archive_percent=100)) as h:
        h.refresh()
        write(tmp_path / "orders.json", small_api("/orders", version="2.0"))
        h.refresh()
        assert set(elements_under(h, "DeployedAPI")) == {"openapi:Orders/2.0"}
        assert set(elements_under(h, "APIOperation")) == {"openapi:Orders/2.0::GET /orders"}


def test_a_document_that_breaks_the_rules_is_catalogued_and_its_problems_are_warnings(tmp_path: Path) -> None:
    document = small_api("/orders", "/refunds")
    document["paths"]["/orders"]["get"]["responses"] = {"200": {"description": 5}}  # description must be a string
    document["paths"]["/refunds"]["get"]["parameters"].append({"$ref": "#/components/parameters/missing"})
    document["paths"]["/broken"] = {"get": "not an operation"}
    with harness(write(tmp_path / "orders.json", document)) as h:
        h.refresh()  # never a crash
        assert set(elements_under(h, "APIOperation")) == {"openapi:Orders/1.0::GET /orders"}
        [invalid, unreadable] = warnings(h)
        assert "breaks" in invalid and "OpenAPI 3.0.3" in invalid
        assert "could not be read" in unreadable
        assert "GET /refunds" in unreadable and "/broken" in unreadable


def test_relative_external_refs_are_resolved(tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "order.yaml").write_text(
        "Order:\n  type: object\n  required: [id]\n  properties:\n    id: {type: string, format: uuid}\n"
        "    total: {$ref: '#/Money'}\nMoney:\n  type: number\n"
    )
    document = small_api("/orders")
    document["paths"]["/orders"]["get"]["responses"]["200"]["content"] = {
        "application/json": {"schema": {"$ref": "schemas/order.yaml#/Order"}}
    }
    with harness(write(tmp_path / "orders.json", document)) as h:
        h.refresh()
        identifier = element_named(h, "openapi:Orders/1.0::GET /orders::response::body.id")
        assert identifier.properties["format"] == "uuid" and identifier.properties["required"] is True
        total = element_named(h, "openapi:Orders/1.0::GET /orders::response::body.total")
        assert total.properties["dataType"] == "number"
        assert warnings(h) == []


def test_a_file_that_is_not_an_openapi_document_fails_the_refresh_and_archives_nothing(tmp_path: Path) -> None:
    path = write(tmp_path / "orders.json", small_api("/orders"))
    with harness(path) as h:
        h.refresh()
        (tmp_path / "orders.json").write_text("{not json nor: [yaml")
        with pytest.raises(Exception, match="no target could be catalogued"):
            h.refresh()
        assert set(elements_under(h, "APIOperation")) == {"openapi:Orders/1.0::GET /orders"}


def test_conforms(document_server: Any, openapi_documents: Path) -> None:
    document_server.token = "conformance-token-0123456789"
    document_server.put("/openapi.json", (openapi_documents / "oas-examples/3.0/json/petstore.json").read_bytes())
    report = conformance(
        OpenAPIMonitorConnector, endpoint=document_server.base, secrets={"token": document_server.token}
    )
    assert report.first_refresh.created > 100


def test_the_example_document_and_its_shared_schemas_are_catalogued() -> None:
    """examples/openapi-files-connector.yaml's document: relative $refs into schemas.yaml, allOf, arrays."""
    example = Path(__file__).resolve().parents[2] / "examples" / "sample-apis" / "orders.yaml"
    api = "openapi:Orders/1.4.0"
    with harness(str(example)) as h:
        h.refresh()
        assert warnings(h) == []
        listed = {p.rsplit("::", 1)[1] for p in elements_under(h, "APIParameter", f"{api}::GET /orders::")}
        assert listed == {
            "query.customer", "query.limit", "header.X-Request-Id", "header.X-Next-Page",
            "body.customer", "body.lines", "body.id", "body.placedAt", "body.total",
        }  # fmt: skip
        placed = element_named(h, f"{api}::POST /orders::response::body.placedAt")
        assert placed.properties["format"] == "date-time" and placed.properties["required"] is True
        customer = element_named(h, f"{api}::POST /orders::request::body.customer")
        assert customer.properties["example"] == "C-1042" and customer.properties["required"] is True
        amount = element_named(h, f"{api}::POST /orders/{{orderId}}/refunds::request::body.amount")
        assert amount.properties["required"] is False  # the refund's body is optional
        [keyword] = [k for k in context_of(h).find_search_keywords("refunds") if k.properties["name"] == "refunds"]
        [refund] = context_of(h).get_elements_for_search_keyword(keyword.guid)
        assert refund.properties["operationId"] == "refundOrder"


def test_an_operation_that_changes_tags_moves_to_the_new_keyword(tmp_path: Path) -> None:
    document = small_api("/orders")
    path = write(tmp_path / "orders.json", document)
    with harness(path, deletion=DeletionDetection(max_archive_percent=100)) as h:
        h.refresh()
        document["paths"]["/orders"]["get"]["tags"] = ["sales"]
        write(tmp_path / "orders.json", document)
        h.refresh()
        context = context_of(h)
        [sales] = context.find_search_keywords("openapi:Orders/1.0::tag:sales")
        assert [op.qualified_name for op in context.get_elements_for_search_keyword(sales.guid)] == [
            "openapi:Orders/1.0::GET /orders"
        ]
        assert last_refresh_changes(h).archived == {"openapi:Orders/1.0::tag:orders"}
        operation = element_named(h, "openapi:Orders/1.0::GET /orders")
        assert [k.qualified_name for k in context.get_search_keywords_for_element(operation.guid)] == [
            "openapi:Orders/1.0::tag:sales"
        ]


def test_the_connector_is_installed_under_its_entry_point_with_its_settings_schema() -> None:
    assert available_connectors()["openapi-monitor"].endswith("openapi_monitor:OpenAPIMonitorConnector")
    schema = OpenAPIMonitorConnector.configuration_model.model_json_schema(by_alias=True)
    assert {"wellKnownPaths", "timeoutSeconds", "caFile", "validation"} <= set(schema["properties"])


def test_a_mistyped_setting_is_refused_with_its_key_path(tmp_path: Path) -> None:
    with pytest.raises(Exception, match=r"validation.*full.*schema.*off"):
        harness(write(tmp_path / "orders.json", small_api("/orders")), validation="strict")
