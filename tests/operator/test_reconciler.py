"""One connector's reconcile pass against fake API and runtime clients: what it keeps and what it writes."""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any, cast

import httpx

from metaferry_operator import actions, kube, naming
from metaferry_operator.cache import ChildVersion, WorldCache
from metaferry_operator.config import OperatorConfig
from metaferry_operator.observation import PodObservation
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
        self.applied: dict[str, Json] = {}
        self.status_patches: list[Json] = []
        self.events: list[Json] = []
        self.status_gate: asyncio.Event | None = None  # set: status writes wait for it (a slow API server)
        self.status_waiting = asyncio.Event()

    def _stamp(self, body: Json) -> Json:
        self.version += 1
        body = copy.deepcopy(body)
        body["metadata"].update(resourceVersion=str(self.version), managedFields=MANAGED_FIELDS, generation=1)
        return body

    async def get(self, path: str) -> Json | None:
        return None

    async def apply(self, manifest: Json, *, field_manager: str) -> Json:
        self.applies.append(manifest["kind"])
        self.applied[manifest["kind"]] = manifest
        return self._stamp(manifest)

    async def merge_patch(self, path: str, patch: Json) -> Json:
        if self.status_gate is not None:
            self.status_waiting.set()
            await self.status_gate.wait()
        self.status_patches.append(patch)
        status = {**self.connector.get("status", {}), **patch["status"]}
        self.connector = self._stamp({**self.connector, "status": status})
        return self.connector

    async def create(self, path: str, body: Json) -> Json:
        if body["kind"] == "Event":
            self.events.append(body)
        return self._stamp(body)


def _reconciler(fake: FakeKube, runtime: httpx.AsyncClient | None = None) -> ConnectorReconciler:
    deps = Dependencies(
        config=OperatorConfig(),
        kube=cast(kube.KubeClient, fake),
        runtime_client=lambda: RuntimeClient(runtime or httpx.AsyncClient()),
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


class RecordingRuntime:
    """The runtime's answers to POST /refresh, recording each request id (served by httpx.MockTransport: the
    point here is when the operator calls, which a real runtime would not tell more exactly)."""

    def __init__(self) -> None:
        self.refreshes: list[str] = []
        self.confirmations: list[str] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == "/refresh":
            body = json.loads(request.content)
            (self.confirmations if body.get("confirmArchive") else self.refreshes).append(body["requestId"])
            count = len(self.refreshes) + len(self.confirmations)
            return httpx.Response(
                202,
                json={"refreshId": f"r{count}", "queued": False, "archiveConfirmed": bool(body.get("confirmArchive"))},
            )
        return httpx.Response(503, json={"detail": "starting"})


def _ready_pod(fake: FakeKube) -> PodObservation:
    template = fake.applied["Deployment"]["spec"]["template"]["metadata"]["annotations"]
    return PodObservation(
        name="files-runtime-1",
        created="2026-01-01T00:00:00Z",
        phase="Running",
        ip="10.1.2.3",
        ready=True,
        running=True,
        restart_count=0,
        config_hash=template[naming.CONFIG_HASH_ANNOTATION],
        deleting=False,
    )


def _annotated(body: Json, token: str, **metadata: Any) -> Json:
    body = copy.deepcopy(body)
    body["metadata"].update(metadata)
    body["metadata"]["annotations"] = {naming.REFRESH_ANNOTATION: token}
    return body


async def test_a_refresh_request_goes_to_the_runtime_while_a_pass_is_writing_status_and_only_once() -> None:
    fake, runtime = FakeKube(connector_body()), RecordingRuntime()
    reconciler = _reconciler(fake, httpx.AsyncClient(transport=httpx.MockTransport(runtime.handle)))
    reconciler.observe(connector_body())
    await reconciler.reconcile()
    reconciler.deps.cache.set_pod(reconciler.key, _ready_pod(fake))  # the watch sees the pod come up

    fake.status_gate = asyncio.Event()
    running = asyncio.create_task(reconciler.reconcile())  # the pod's readiness changes the status
    await fake.status_waiting.wait()
    reconciler.observe(_annotated(fake.connector, "t1"))  # the annotation arrives during that write

    assert reconciler.refresh_due_now() == actions.Request(actions.Action.REFRESH, "t1")
    assert await reconciler.refresh_now()
    assert runtime.refreshes == ["t1"] and not running.done()
    assert "RefreshRequested" not in [event["reason"] for event in fake.events]  # told by the echoing pass
    assert reconciler.refresh_due_now() is None and not await reconciler.refresh_now()

    fake.status_gate.set()
    await running
    reconciler.observe(_annotated(fake.connector, "t1"))
    await reconciler.reconcile()  # the pass echoes the token without calling the runtime again
    assert fake.connector["status"]["lastHandledRefreshAt"] == "t1"
    assert runtime.refreshes == ["t1"]
    assert [event["reason"] for event in fake.events].count("RefreshRequested") == 1


async def test_a_refresh_request_waits_for_a_pass_when_the_spec_changed_or_the_connector_is_suspended() -> None:
    fake, runtime = FakeKube(connector_body()), RecordingRuntime()
    reconciler = _reconciler(fake, httpx.AsyncClient(transport=httpx.MockTransport(runtime.handle)))
    reconciler.observe(connector_body())
    await reconciler.reconcile()
    assert reconciler.refresh_due_now() is None  # no annotation
    reconciler.observe(_annotated(fake.connector, "t1"))
    assert reconciler.refresh_due_now() is None  # no pod yet

    reconciler.deps.cache.set_pod(reconciler.key, _ready_pod(fake))
    assert reconciler.refresh_due_now() is not None
    reconciler.observe(_annotated(fake.connector, "t1", generation=2))  # a spec change may roll the pod
    assert reconciler.refresh_due_now() is None
    suspended = _annotated(fake.connector, "t1")
    suspended["spec"]["suspend"] = True
    reconciler.observe(suspended)
    assert reconciler.refresh_due_now() is None and not await reconciler.refresh_now()
    assert runtime.refreshes == []


async def test_an_archive_confirmation_annotation_reaches_the_runtime_once_and_is_echoed() -> None:
    fake, runtime = FakeKube(connector_body()), RecordingRuntime()
    reconciler = _reconciler(fake, httpx.AsyncClient(transport=httpx.MockTransport(runtime.handle)))
    reconciler.observe(connector_body())
    await reconciler.reconcile()
    reconciler.deps.cache.set_pod(reconciler.key, _ready_pod(fake))
    confirming = copy.deepcopy(fake.connector)
    confirming["metadata"]["annotations"] = {naming.CONFIRM_ARCHIVE_ANNOTATION: "2030-01-01T00:00:00Z"}
    reconciler.observe(confirming)
    await reconciler.reconcile()
    assert (runtime.confirmations, runtime.refreshes) == (["2030-01-01T00:00:00Z"], [])
    assert fake.connector["status"]["lastHandledConfirmArchiveAt"] == "2030-01-01T00:00:00Z"
    again = copy.deepcopy(fake.connector)
    again["metadata"]["annotations"] = {naming.CONFIRM_ARCHIVE_ANNOTATION: "2030-01-01T00:00:00Z"}
    reconciler.observe(again)
    await reconciler.reconcile()
    assert runtime.confirmations == ["2030-01-01T00:00:00Z"], "an echoed token is not carried out again"
    assert [event["reason"] for event in fake.events].count("ConfirmArchiveRequested") == 1
