"""One connector's reconcile pass against fake API and runtime clients: what it keeps and what it writes."""

from __future__ import annotations

import copy
from typing import Any, cast

import httpx

from metaferry_operator import kube
from metaferry_operator.cache import ChildVersion, WorldCache
from metaferry_operator.config import OperatorConfig
from metaferry_operator.reconciler import ConnectorReconciler, Dependencies
from metaferry_operator.runtime_client import RuntimeClient
from tests.operator.builders import connector_body

Json = dict[str, Any]
MANAGED_FIELDS = [{"manager": "kubectl", "operation": "Update", "fieldsV1": {"f:spec": {"f:connector": {}}}}]


class FakeKube:
    """Answers like the API server would, with managedFields on every object, and records the writes."""

    def __init__(self, connector: Json) -> None:
        self.connector = connector
        self.version = 100
        self.applies: list[str] = []
        self.status_patches: list[Json] = []

    def _stamp(self, body: Json) -> Json:
        self.version += 1
        body = copy.deepcopy(body)
        body["metadata"].update(resourceVersion=str(self.version), managedFields=MANAGED_FIELDS, generation=1)
        return body

    async def get(self, path: str) -> Json | None:
        return None

    async def apply(self, manifest: Json, *, field_manager: str) -> Json:
        self.applies.append(manifest["kind"])
        return self._stamp(manifest)

    async def merge_patch(self, path: str, patch: Json) -> Json:
        self.status_patches.append(patch)
        status = {**self.connector.get("status", {}), **patch["status"]}
        self.connector = self._stamp({**self.connector, "status": status})
        return self.connector

    async def create(self, path: str, body: Json) -> Json:
        return self._stamp(body)


def _reconciler(fake: FakeKube) -> ConnectorReconciler:
    deps = Dependencies(
        config=OperatorConfig(),
        kube=cast(kube.KubeClient, fake),
        runtime=RuntimeClient(httpx.AsyncClient()),
        cache=WorldCache(),
    )
    return ConnectorReconciler(key=("data", "files"), deps=deps)


async def test_the_kept_body_has_no_managed_fields_and_passes_still_write_status_only_on_change() -> None:
    body = connector_body()
    body["metadata"].update(managedFields=MANAGED_FIELDS, annotations={"metaferry.io/refresh-requested-at": "t1"})
    fake = FakeKube(body)
    reconciler = _reconciler(fake)
    reconciler.observe(body)
    assert "managedFields" not in cast(Json, reconciler.body)["metadata"]
    assert cast(Json, reconciler.body)["metadata"]["annotations"] == {"metaferry.io/refresh-requested-at": "t1"}
    assert body["metadata"]["managedFields"] == MANAGED_FIELDS  # the watch's body is left as it was

    await reconciler.reconcile()
    assert fake.applies == ["ConfigMap", "Secret", "Deployment", "Service", "NetworkPolicy"]
    assert len(fake.status_patches) == 1
    assert fake.status_patches[0]["status"]["phase"] == "Pending"

    await reconciler.reconcile()  # before the watch echoes the write: compared with what the patch returned
    reconciler.observe(fake.connector)  # the echo
    await reconciler.reconcile()
    assert len(fake.status_patches) == 1
    assert len(fake.applies) == 5


async def test_a_child_deleted_or_edited_after_the_apply_is_applied_again() -> None:
    fake = FakeKube(connector_body())
    reconciler = _reconciler(fake)
    reconciler.observe(connector_body())
    await reconciler.reconcile()
    cache = reconciler.deps.cache
    cache.drop_child(("data", "files"), "Service")  # the watch reports a deletion
    await reconciler.reconcile()
    assert fake.applies[5:] == ["ConfigMap", "Secret", "Deployment", "Service", "NetworkPolicy"]
    seen = cast(ChildVersion, cache.child(("data", "files"), "ConfigMap"))
    cache.set_child(("data", "files"), "ConfigMap", ChildVersion(str(int(seen.resource_version) + 1), 0))  # an edit
    await reconciler.reconcile()
    assert len(fake.applies) == 15


def test_an_apply_never_hides_a_newer_version_the_watch_reported() -> None:
    cache, key = WorldCache(), ("data", "files")
    cache.set_child(key, "ConfigMap", ChildVersion("12", 0))  # someone's edit, seen before our apply's answer
    cache.record_applied(key, "ConfigMap", ChildVersion("11", 0))
    assert cache.child(key, "ConfigMap") == ChildVersion("12", 0)
    cache.record_applied(key, "ConfigMap", ChildVersion("13", 0))
    assert cache.child(key, "ConfigMap") == ChildVersion("13", 0)
