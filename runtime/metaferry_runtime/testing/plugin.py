"""The pytest plugin of the test kit, registered by entry point (`pytest11`), so installing metaferry is enough:
a connector's own test suite gets the fixtures without a conftest.py of its own.

- `connector_harness(ConnectorClass, manifest=None, *, repository_url=None, secrets=None, start=True,
  **spec_fields)`: a `ConnectorHarness`, configured and started, closed (disconnected, its repository
  removed) when the test ends;
- `connector_conformance`: `conformance` itself, for a test that reads better with a fixture.

pytest loads every installed plugin in every session, so this module imports the kit only when a fixture
is used: a suite that never asks for one does not pay for the runtime's imports.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from metaferry_runtime.testing.harness import ConnectorHarness, HarnessFactory


@pytest.fixture
def connector_harness() -> Iterator[HarnessFactory]:
    """Make harnesses with `ConnectorHarness.create`'s arguments; each is closed after the test."""
    from metaferry_runtime.testing.harness import ConnectorHarness

    made: list[ConnectorHarness[Any]] = []

    def make(*args: Any, **kwargs: Any) -> ConnectorHarness[Any]:
        harness = ConnectorHarness.create(*args, **kwargs)
        made.append(harness)
        return harness

    yield make
    for harness in reversed(made):
        harness.close()


@pytest.fixture
def connector_conformance() -> Callable[..., Any]:
    """`metaferry_runtime.testing.conformance`."""
    from metaferry_runtime.testing.suite import conformance

    return conformance
