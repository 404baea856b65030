"""Fixtures of the context tests: a real repository on each backend, and a context factory over it.

The PostgreSQL side uses the shared `tests.postgres` plugin (a database of its own per test, skipped on a
developer machine without PostgreSQL, failing in CI), so both suites run against the same servers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from metaferry_runtime.repository import MetadataRepository
from metaferry_runtime.resource.spec import DeletionDetection, PermittedSynchronization
from metaferry_runtime.sdk.context import IntegrationContext
from metaferry_runtime.sdk.contexts import create_context

SOURCE = "team-a/connector"
OTHER_SOURCE = "team-b/connector"
ContextFactory = Callable[..., Any]


@pytest.fixture
def make_context(repository: MetadataRepository) -> Iterator[ContextFactory]:
    """`make_context("files", source=..., sync=..., deletion=...)`: a context as the runtime builds it."""
    made: list[IntegrationContext] = []

    def make(
        service: str,
        *,
        source: str = SOURCE,
        sync: PermittedSynchronization = PermittedSynchronization.FROM_THIRD_PARTY,
        deletion: DeletionDetection | None = None,
        catalog_targets: list[str] | None = None,
    ) -> Any:
        context = create_context(
            service,
            repository=repository,
            connector_name=f"{service}-connector",
            metadata_source_qualified_name=source,
            permitted_synchronization=sync,
            catalog_targets=catalog_targets,
            deletion_detection=deletion,
        )
        made.append(context)
        return context

    yield make
    for context in made:
        context.disconnect()
