"""The watch handlers: what a child's event records, and when it wakes the connector's task."""

from __future__ import annotations

from typing import Any

import kopf

from metaferry_operator import handlers, naming
from metaferry_operator.cache import ChildVersion, WorldCache

KEY = ("data", "files")


class Wakes:
    def __init__(self) -> None:
        self.keys: list[tuple[str, str]] = []

    def wake(self, key: tuple[str, str]) -> None:
        self.keys.append(key)


def _config_map_event(resource_version: str, kind: str = "MODIFIED") -> Any:
    metadata = {
        "name": naming.child_name("files"),
        "namespace": "data",
        "resourceVersion": resource_version,
        "labels": naming.child_labels("files"),
    }
    return {"type": kind, "object": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata}}


def test_a_child_event_wakes_its_connector_unless_it_echoes_our_own_apply() -> None:
    cache, wakes = WorldCache(), Wakes()
    memo = kopf.Memo(cache=cache, supervisor=wakes)
    cache.record_applied(KEY, "ConfigMap", ChildVersion(resource_version="41", generation=0))

    handlers._record_child(_config_map_event("41"), memo, "ConfigMap")  # the watch reports our apply
    assert wakes.keys == []
    handlers._record_child(_config_map_event("42"), memo, "ConfigMap")  # someone edited it: drift
    assert wakes.keys == [KEY]
    assert cache.child(KEY, "ConfigMap") == ChildVersion(resource_version="42", generation=0)
    handlers._record_child(_config_map_event("43", kind="DELETED"), memo, "ConfigMap")
    assert wakes.keys == [KEY, KEY]
    assert cache.child(KEY, "ConfigMap") is None
