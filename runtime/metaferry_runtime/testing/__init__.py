"""The connector test kit: run a connector as the runtime runs it, assert what it wrote, prove it conforms.

For connector authors, as `kopf.testing` is for operator authors; the built-in connectors are tested with
exactly this. A pytest plugin (entry point `metaferry`, group `pytest11`) adds the `connector_harness`
fixture to every suite once metaferry is installed.

    from metaferry_runtime.testing import conformance, elements_under

    def test_my_connector_conforms(tmp_path):
        conformance(MyConnector, endpoint=str(tmp_path))

    def test_it_catalogues_the_tree(connector_harness, tmp_path):
        harness = connector_harness(MyConnector, endpoint=str(tmp_path))
        harness.refresh()
        assert set(elements_under(harness, "DataFile", f"file://{tmp_path}/")) == {...}

- `ConnectorHarness`: `create(ConnectorClass, manifest | spec fields, repository_url=, secrets=)`, then
  `start()`, `refresh()` (ChangeCounts; `last_events` are its out-topic events), `engage_once()`,
  `disconnect()`, `audit_records()`, `changed(kind)`; `connector`, `context`, `repository`.
- assertions: `element_named`, `elements_under`, `relationships_between`, `last_refresh_changes`,
  `assert_refresh_writes_nothing`.
- `conformance(ConnectorClass, manifest, ...)`: a `ConformanceReport`, or `ConformanceFailure` (an
  AssertionError) naming each failed `Property`.

A connector module imports only `metaferry_runtime.sdk`; its tests import this package.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from metaferry_runtime.testing.assertions import (
        RefreshChanges,
        assert_refresh_writes_nothing,
        element_named,
        elements_under,
        last_refresh_changes,
        relationships_between,
    )
    from metaferry_runtime.testing.faults import CountingRepository, InjectedFailure
    from metaferry_runtime.testing.harness import ConnectorHarness, HarnessFactory
    from metaferry_runtime.testing.manifests import Manifest, build_manifest
    from metaferry_runtime.testing.suite import (
        CANARY_KEY,
        ConformanceFailure,
        ConformanceReport,
        Property,
        PropertyResult,
        conformance,
    )

#: Public name -> the module defining it. Imported on first use: the pytest plugin lives in this package
#: and pytest imports it in every session, which should not cost the runtime's imports when unused.
_EXPORTS: dict[str, str] = {
    "RefreshChanges": "assertions",
    "assert_refresh_writes_nothing": "assertions",
    "element_named": "assertions",
    "elements_under": "assertions",
    "last_refresh_changes": "assertions",
    "relationships_between": "assertions",
    "CANARY_KEY": "suite",
    "ConformanceFailure": "suite",
    "ConformanceReport": "suite",
    "Property": "suite",
    "PropertyResult": "suite",
    "conformance": "suite",
    "CountingRepository": "faults",
    "InjectedFailure": "faults",
    "ConnectorHarness": "harness",
    "HarnessFactory": "harness",
    "Manifest": "manifests",
    "build_manifest": "manifests",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CANARY_KEY",
    "ConformanceFailure",
    "ConformanceReport",
    "ConnectorHarness",
    "CountingRepository",
    "HarnessFactory",
    "InjectedFailure",
    "Manifest",
    "Property",
    "PropertyResult",
    "RefreshChanges",
    "assert_refresh_writes_nothing",
    "build_manifest",
    "conformance",
    "element_named",
    "elements_under",
    "last_refresh_changes",
    "relationships_between",
]
