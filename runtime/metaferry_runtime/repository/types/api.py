"""Deployed APIs and their operations (Egeria models 0212, 0536): the api service.

Tags (OpenAPI's grouping of operations) are Egeria's SearchKeywords (model 0150), linked to what they
describe by SearchKeywordLink, so a user finds every operation of a tag by searching for the keyword.

The role of a parameter list is both a property (`parameterListType`: header, request or response, as the
Egeria API integrator's APIParameterListType) and the relationship that links it (APIHeader, APIRequest,
APIResponse), as in Egeria's model.
"""

from metaferry_runtime.repository.types.defs import (
    ElementTypeDef,
    PropertyDef,
    PropertyKind,
    RelationshipTypeDef,
    TypeArea,
)

S, B, L = PropertyKind.STRING, PropertyKind.BOOLEAN, PropertyKind.STRING_LIST

AREA = TypeArea(
    name="api",
    element_types=(
        ElementTypeDef.of("DeployedAPI", "Asset", "An API served at an endpoint."),
        ElementTypeDef.of("APISchemaType", "SchemaType"),
        ElementTypeDef.of(
            "APIOperation", "SchemaType", "One path and verb.", path=S, command=S, operationId=S, summary=S, tags=L
        ),
        ElementTypeDef.of(
            "APIParameterList",
            "ComplexSchemaType",
            required=B,
            parameterListType=PropertyDef(kind=PropertyKind.STRING, values=("header", "request", "response")),
        ),
        ElementTypeDef.of(
            "APIParameter", "SchemaAttribute", required=B, example=S, parameterType=S, format=S, location=S
        ),
        ElementTypeDef.of("SearchKeyword", "Referenceable", "A keyword users search by (an OpenAPI tag).", keyword=S),
    ),
    relationship_types=(
        RelationshipTypeDef.of("APIEndpoint", ("DeployedAPI", "supportedAPIs"), ("Endpoint", "accessEndpoints")),
        RelationshipTypeDef.of("APIOperations", ("APISchemaType", "parentAPI"), ("APIOperation", "apiOperations")),
        RelationshipTypeDef.of("APIHeader", ("APIOperation", "usedInHeader"), ("APIParameterList", "headerList")),
        RelationshipTypeDef.of("APIRequest", ("APIOperation", "usedInRequest"), ("APIParameterList", "requestList")),
        RelationshipTypeDef.of("APIResponse", ("APIOperation", "usedInResponse"), ("APIParameterList", "responseList")),
        RelationshipTypeDef.of(
            "SearchKeywordLink", ("Referenceable", "keywordElements"), ("SearchKeyword", "searchKeywords")
        ),
    ),
)
