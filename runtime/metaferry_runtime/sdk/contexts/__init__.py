"""The twelve integration-service contexts, one per Egeria integration service, and the factory the runtime uses.

Each service module declares its element types and offers Egeria-named methods over them (see
`_elements`); `create_context("files", **kwargs)` builds the context for a resource's
`integrationService`, with the keyword arguments of `IntegrationContext.__init__`.
"""

from __future__ import annotations

from typing import Any

from metaferry_runtime.sdk.context import IntegrationContext
from metaferry_runtime.sdk.contexts._elements import ElementContext
from metaferry_runtime.sdk.contexts.analytics import AnalyticsIntegratorContext
from metaferry_runtime.sdk.contexts.api import APIIntegratorContext
from metaferry_runtime.sdk.contexts.catalog import CatalogIntegratorContext, ExternalIdentifierLink
from metaferry_runtime.sdk.contexts.database import DatabaseIntegratorContext
from metaferry_runtime.sdk.contexts.display import DisplayIntegratorContext
from metaferry_runtime.sdk.contexts.files import FilesIntegratorContext
from metaferry_runtime.sdk.contexts.infrastructure import InfrastructureIntegratorContext
from metaferry_runtime.sdk.contexts.lineage import CataloguedRun, LineageIntegratorContext
from metaferry_runtime.sdk.contexts.organization import OrganizationIntegratorContext
from metaferry_runtime.sdk.contexts.search import SearchIntegratorContext
from metaferry_runtime.sdk.contexts.security import SecurityIntegratorContext
from metaferry_runtime.sdk.contexts.topic import TopicIntegratorContext

CONTEXT_CLASSES: dict[str, type[IntegrationContext]] = {
    context_class.integration_service: context_class
    for context_class in (
        AnalyticsIntegratorContext,
        APIIntegratorContext,
        CatalogIntegratorContext,
        DatabaseIntegratorContext,
        DisplayIntegratorContext,
        FilesIntegratorContext,
        InfrastructureIntegratorContext,
        LineageIntegratorContext,
        OrganizationIntegratorContext,
        SearchIntegratorContext,
        SecurityIntegratorContext,
        TopicIntegratorContext,
    )
}


def create_context(service: str, **kwargs: Any) -> IntegrationContext:
    """The context of the named integration service; ValueError names the services that exist."""
    try:
        context_class = CONTEXT_CLASSES[service]
    except KeyError:
        known = ", ".join(sorted(CONTEXT_CLASSES))
        raise ValueError(f"unknown integration service {service!r}; the services are: {known}") from None
    return context_class(**kwargs)


__all__ = [
    "CONTEXT_CLASSES",
    "APIIntegratorContext",
    "AnalyticsIntegratorContext",
    "CatalogIntegratorContext",
    "CataloguedRun",
    "DatabaseIntegratorContext",
    "DisplayIntegratorContext",
    "ElementContext",
    "ExternalIdentifierLink",
    "FilesIntegratorContext",
    "InfrastructureIntegratorContext",
    "LineageIntegratorContext",
    "OrganizationIntegratorContext",
    "SearchIntegratorContext",
    "SecurityIntegratorContext",
    "TopicIntegratorContext",
    "create_context",
]
