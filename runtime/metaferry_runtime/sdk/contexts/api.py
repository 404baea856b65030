"""API integration service (Egeria's API Integrator): deployed APIs, their operations and parameters.

As in Egeria, an operation hangs off the API's APISchemaType (inserted by the context on first use), and
parameter lists hang off an operation by the relationship that says their role: APIHeader, APIRequest or
APIResponse (`create_api_parameter_list(..., parameter_list_type="request")`). Servers are Endpoints linked by
APIEndpoint; tags are SearchKeywords linked to what they describe by SearchKeywordLink.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from metaferry_runtime.repository import ChangeKind, Element
from metaferry_runtime.sdk.contexts._elements import ElementContext, ElementKind, ParentLink, RelationshipKind

ParameterListType = Literal["header", "request", "response"]

DEPLOYED_API = ElementKind("DeployedAPI", is_asset=True)
API_OPERATION = ElementKind("APIOperation", parent=ParentLink("APIOperations", via_schema_type="APISchemaType"))
API_PARAMETER_LIST = ElementKind("APIParameterList")
API_PARAMETER = ElementKind("APIParameter", parent=ParentLink("AttributeForSchema"))
ENDPOINT = ElementKind("Endpoint")
SEARCH_KEYWORD = ElementKind("SearchKeyword")
API_ENDPOINT = RelationshipKind("APIEndpoint", end1="deployed API", end2="endpoint")
SEARCH_KEYWORD_LINK = RelationshipKind("SearchKeywordLink", end1="element", end2="search keyword")
PARAMETER_LIST_RELATIONSHIPS: Mapping[str, RelationshipKind] = {
    "header": RelationshipKind("APIHeader", end1="API operation", end2="header parameter list"),
    "request": RelationshipKind("APIRequest", end1="API operation", end2="request parameter list"),
    "response": RelationshipKind("APIResponse", end1="API operation", end2="response parameter list"),
}


class APIIntegratorContext(ElementContext):
    """What an API connector may do: catalog APIs, their operations, parameter lists and parameters."""

    integration_service = "api"

    create_api = DEPLOYED_API.create()
    upsert_api = DEPLOYED_API.upsert()
    update_api = DEPLOYED_API.update()
    publish_api = DEPLOYED_API.publish()
    withdraw_api = DEPLOYED_API.withdraw()
    remove_api = DEPLOYED_API.remove()
    find_apis = DEPLOYED_API.find()
    get_apis_by_name = DEPLOYED_API.get_by_name()
    get_my_apis = DEPLOYED_API.get_mine()
    get_api_by_guid = DEPLOYED_API.get_by_guid()
    get_api_by_qualified_name = DEPLOYED_API.get_by_qualified_name()
    add_api_endpoint = API_ENDPOINT.link()
    remove_api_endpoint = API_ENDPOINT.unlink()
    get_api_endpoints = API_ENDPOINT.end2_elements()

    upsert_endpoint = ENDPOINT.upsert()
    get_endpoint_by_qualified_name = ENDPOINT.get_by_qualified_name()

    upsert_search_keyword = SEARCH_KEYWORD.upsert()
    find_search_keywords = SEARCH_KEYWORD.find()
    add_search_keyword_link = SEARCH_KEYWORD_LINK.link()
    remove_search_keyword_link = SEARCH_KEYWORD_LINK.unlink()
    get_elements_for_search_keyword = SEARCH_KEYWORD_LINK.end1_elements()
    get_search_keywords_for_element = SEARCH_KEYWORD_LINK.end2_elements()

    create_api_operation = API_OPERATION.create()
    upsert_api_operation = API_OPERATION.upsert()
    upsert_api_operations = API_OPERATION.upsert_many()
    update_api_operation = API_OPERATION.update()
    remove_api_operation = API_OPERATION.remove()
    find_api_operations = API_OPERATION.find()
    get_api_operations_by_name = API_OPERATION.get_by_name()
    get_my_api_operations = API_OPERATION.get_mine()
    get_api_operation_by_guid = API_OPERATION.get_by_guid()
    get_api_operations_for_api = API_OPERATION.children()

    update_api_parameter_list = API_PARAMETER_LIST.update()
    remove_api_parameter_list = API_PARAMETER_LIST.remove()
    find_api_parameter_lists = API_PARAMETER_LIST.find()
    get_api_parameter_lists_by_name = API_PARAMETER_LIST.get_by_name()
    get_my_api_parameter_lists = API_PARAMETER_LIST.get_mine()
    get_api_parameter_list_by_guid = API_PARAMETER_LIST.get_by_guid()

    create_api_parameter = API_PARAMETER.create()
    upsert_api_parameter = API_PARAMETER.upsert()
    upsert_api_parameters = API_PARAMETER.upsert_many()
    update_api_parameter = API_PARAMETER.update()
    remove_api_parameter = API_PARAMETER.remove()
    find_api_parameters = API_PARAMETER.find()
    get_api_parameters_by_name = API_PARAMETER.get_by_name()
    get_my_api_parameters = API_PARAMETER.get_mine()
    get_api_parameter_by_guid = API_PARAMETER.get_by_guid()
    get_api_parameters_for_list = API_PARAMETER.children()

    def create_api_parameter_list(
        self,
        qualified_name: str,
        properties: Mapping[str, Any] | None = None,
        *,
        api_operation_guid: str,
        parameter_list_type: ParameterListType = "request",
    ) -> str:
        """Create a header, request or response parameter list of an operation; returns its GUID."""
        with self.write_transaction("create_api_parameter_list") as transaction:
            relationship = _parameter_list_relationship(parameter_list_type)
            element = transaction.create_element(
                API_PARAMETER_LIST.type_name,
                qualified_name,
                {**(properties or {}), "parameterListType": parameter_list_type},
            )
            transaction.upsert_relationship(relationship.type_name, api_operation_guid, element.guid)
            return element.guid

    def upsert_api_parameter_list(
        self,
        qualified_name: str,
        properties: Mapping[str, Any] | None = None,
        *,
        api_operation_guid: str,
        parameter_list_type: ParameterListType = "request",
    ) -> tuple[Element, ChangeKind]:
        """Create, update or leave an operation's parameter list by qualified name (marked observed); a list
        created, updated or restored is linked to the operation by the relationship of its role."""
        with self.write_transaction("upsert_api_parameter_list") as transaction:
            relationship = _parameter_list_relationship(parameter_list_type)
            element, change = transaction.upsert_element(
                API_PARAMETER_LIST.type_name,
                qualified_name,
                {**(properties or {}), "parameterListType": parameter_list_type},
            )
            if change is not ChangeKind.UNCHANGED:
                transaction.upsert_relationship(relationship.type_name, api_operation_guid, element.guid)
            return element, change

    def get_api_parameter_lists_for_operation(
        self, api_operation_guid: str, parameter_list_type: ParameterListType
    ) -> list[Element]:
        """The operation's parameter lists of that role."""
        with self.read_transaction() as transaction:
            relationship = _parameter_list_relationship(parameter_list_type)
            return transaction.get_related_elements(
                api_operation_guid, relationship_type=relationship.type_name, at_end=1
            )


def _parameter_list_relationship(parameter_list_type: str) -> RelationshipKind:
    try:
        return PARAMETER_LIST_RELATIONSHIPS[parameter_list_type]
    except KeyError:
        raise ValueError(
            f"parameter_list_type must be header, request or response, not {parameter_list_type!r}"
        ) from None
