"""Writing an `APIDefinition` as Egeria catalogues an API, in the refresh's transaction:

    DeployedAPI -APIEndpoint-> Endpoint (one per server)
    DeployedAPI -AssetSchemaType-> APISchemaType -APIOperations-> APIOperation (one per path and verb)
    APIOperation -APIHeader/APIRequest/APIResponse-> APIParameterList -AttributeForSchema-> APIParameter
    APIOperation -SearchKeywordLink-> SearchKeyword (one per tag)

Qualified names come from what the document says, never from where it was fetched, so the same document
served by two servers is one DeployedAPI with two endpoints, and a refresh names everything as the last
one did:

    openapi:<title>/<version>[/<group>]                      the DeployedAPI
    <api>::<VERB> <path>                                     an operation
    <operation>::request | ::header | ::response             its parameter lists
    <list>::<location>.<name>                                a parameter (location: path, query, body...)
    <api>::tag:<name>                                        a tag
    endpoint:<server URL>                                    an endpoint
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from metaferry_runtime.connectors.openapi_monitor.model import APIDefinition, OperationDefinition, ParameterDefinition
from metaferry_runtime.sdk import ChangeKind, ElementUpsert
from metaferry_runtime.sdk.contexts.api import APIIntegratorContext

#: What the connector catalogues, for deletion detection: all of them, or those under one API.
API_TYPES = ("DeployedAPI", "APISchemaType", "Endpoint")
UNDER_API_TYPES = ("APIOperation", "APIParameterList", "APIParameter", "SearchKeyword")
#: The additionalProperties key of a DeployedAPI that holds the digest of the document catalogued.
DIGEST_PROPERTY = "documentDigest"


def api_qualified_name(definition: APIDefinition) -> str:
    name = f"openapi:{definition.title}/{definition.version}"
    return f"{name}/{definition.group}" if definition.group else name


@dataclass
class Catalogued:
    """What one document put in the repository: every qualified name (for a later unchanged refresh)."""

    api: str
    names: list[str] = field(default_factory=list)
    operations: int = 0
    parameters: int = 0


def catalogue_api(context: APIIntegratorContext, definition: APIDefinition, *, digest: str) -> Catalogued:
    api_name = api_qualified_name(definition)
    outcome = Catalogued(api=api_name)
    api, _ = context.upsert_api(
        api_name,
        _without_none(
            name=definition.title,
            displayName=f"{definition.title} {definition.version}"
            + (f" ({definition.group})" if definition.group else ""),
            description=definition.description,
            versionIdentifier=definition.version,
            deployedImplementationType=definition.specification,
            additionalProperties={DIGEST_PROPERTY: digest},
        ),
    )
    outcome.names += [api_name, f"{api_name}::APISchemaType"]
    for server in definition.servers:  # a server no longer listed keeps its link: another document may list it
        endpoint_name = f"endpoint:{server}"
        endpoint, _ = context.upsert_endpoint(
            endpoint_name, {"name": server, "networkAddress": server, "protocol": urlsplit(server).scheme or "https"}
        )
        context.add_api_endpoint(api.guid, endpoint.guid)
        outcome.names.append(endpoint_name)
    keywords = _keywords(context, definition, api_name, outcome)
    operations = [
        (f"{api_name}::{operation.verb.upper()} {operation.path}", operation) for operation in definition.operations
    ]
    if not operations:
        return outcome
    results = context.upsert_api_operations(
        [ElementUpsert(name, _operation_properties(operation)) for name, operation in operations],
        parent_guid=api.guid,
    )
    for (name, operation), (guid, change) in zip(operations, results, strict=True):
        outcome.names.append(name)
        outcome.operations += 1
        if change is not ChangeKind.UNCHANGED:
            _link_tags(
                context, guid, {keywords[tag] for tag in operation.tags}, created=change is ChangeKind.ELEMENT_CREATED
            )
        for role, parameters in operation.parameters.items():
            if not parameters:
                continue
            list_name = f"{name}::{role}"
            parameter_list, _ = context.upsert_api_parameter_list(
                list_name,
                {"name": role, "required": any(p.required for p in parameters)},
                api_operation_guid=guid,
                parameter_list_type=role,
            )
            upserts = [
                ElementUpsert(
                    f"{list_name}::{parameter.location}.{parameter.name}", _parameter_properties(parameter, position)
                )
                for position, parameter in enumerate(parameters)
            ]
            context.upsert_api_parameters(upserts, parent_guid=parameter_list.guid)
            outcome.names.append(list_name)
            outcome.names += [upsert.qualified_name for upsert in upserts]
            outcome.parameters += len(upserts)
    return outcome


def _keywords(
    context: APIIntegratorContext, definition: APIDefinition, api_name: str, outcome: Catalogued
) -> dict[str, str]:
    """Tag name -> its SearchKeyword's GUID: the document's declared tags and those its operations use."""
    described = {tag.name: tag.description for tag in definition.tags}
    used = dict.fromkeys([*described, *(tag for operation in definition.operations for tag in operation.tags)])
    guids = {}
    for tag in used:
        name = f"{api_name}::tag:{tag}"
        keyword, _ = context.upsert_search_keyword(
            name, _without_none(name=tag, keyword=tag, description=described.get(tag))
        )
        guids[tag] = keyword.guid
        outcome.names.append(name)
    return guids


def _link_tags(context: APIIntegratorContext, operation_guid: str, keywords: set[str], *, created: bool) -> None:
    """Link the operation to its tags' keywords; an updated one is unlinked from the tags it lost."""
    held = set() if created else {k.guid for k in context.get_search_keywords_for_element(operation_guid)}
    for keyword in keywords - held:
        context.add_search_keyword_link(operation_guid, keyword)
    for keyword in held - keywords:
        context.remove_search_keyword_link(operation_guid, keyword)


def _operation_properties(operation: OperationDefinition) -> dict[str, Any]:
    return _without_none(
        name=operation.operation_id or f"{operation.verb.upper()} {operation.path}",
        displayName=operation.summary,
        description=operation.description,
        path=operation.path,
        command=operation.verb.upper(),
        operationId=operation.operation_id,
        summary=operation.summary,
        tags=list(operation.tags),
        isDeprecated=operation.deprecated,
    )


def _parameter_properties(parameter: ParameterDefinition, position: int) -> dict[str, Any]:
    return _without_none(
        name=parameter.name,
        description=parameter.description,
        dataType=parameter.data_type,
        format=parameter.format,
        required=parameter.required,
        example=parameter.example,
        location=parameter.location,
        parameterType=parameter.location,
        isDeprecated=parameter.deprecated,
        position=position,
    )


def _without_none(**properties: Any) -> dict[str, Any]:
    return {key: value for key, value in properties.items() if value is not None}
