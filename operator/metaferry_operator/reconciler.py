"""One connector's reconcile pass: a list of small steps, then one status summary (Flux style).

Steps, in order (:attr:`ConnectorReconciler._steps`), each recording what it observed in the pass's
record (``reconcile_pass.Pass``): parse the spec; read the referenced Secret's digest; make sure the API
token exists, render the children (``rendering.Children``, with their config hash) and server-side apply
them when they differ from what was last applied (or drifted, or a resync is due); carry out pending
refresh/restart/archive-confirmation requests on a ready runtime; read the runtime's report. Then, once,
compute the status from the record (``status.compute``); write it and post events only if it changed.

Each connector has its own :class:`ConnectorReconciler`, driven by its own task in ``supervisor``; that
task is the only writer of the connector's children and status, so passes never race each other. All
state needed to resume lives in the cluster (children, the token Secret, annotations, status); what is
kept here (the token, the versions last applied, the status last written) is a cache rebuilt on restart.

A refresh request need not wait for the pass that is running when it arrives (its status and event writes
take a few hundred milliseconds under load): while nothing the last pass settled on has changed (the
generation, the referenced Secret, the ready pod with the applied configuration), :meth:`refresh_now`
sends it to the runtime at once and the next pass echoes it. One lock and one record of the tokens
carried out keep the two paths from sending a request twice.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from metaferry_operator import (
    actions,
    bodies,
    events,
    kube,
    metrics,
    naming,
    rendering,
    requested_refresh,
    status_rules,
)
from metaferry_operator.cache import ChildVersion, Key, WorldCache, child_version
from metaferry_operator.config import OperatorConfig
from metaferry_operator.json_types import Json
from metaferry_operator.observation import PodObservation, current_pod
from metaferry_operator.reconcile_pass import Pass, Settled, ready_for
from metaferry_operator.repository_check import RepositoryCheck
from metaferry_operator.runtime_client import RuntimeAddress, RuntimeClient, RuntimeRefused, RuntimeUnavailable
from metaferry_runtime.report import ConnectorReport
from metaferry_runtime.resource import ConnectorResource
from metaferry_runtime.resource.manifest import ManifestError, parse_manifest

logger = logging.getLogger(__name__)

RESYNC_SECONDS = 300.0  # re-apply every child this often even without a sign of drift (Strimzi: 120 s)


class ConnectorGone(Exception):
    """The connector was deleted while a pass ran; its task ends."""


class ReconcileFailed(Exception):
    """The pass wrote what status it could and must be retried with backoff."""


@dataclasses.dataclass(frozen=True)
class Dependencies:
    config: OperatorConfig
    kube: kube.KubeClient
    runtime_client: Callable[[], RuntimeClient]  # a new client for each connector (see runtime_client)
    cache: WorldCache
    repository: RepositoryCheck | None = None  # the shared repository; None: per-pod SQLite


class ConnectorReconciler:
    def __init__(self, *, key: Key, deps: Dependencies) -> None:
        self.key = key
        self.deps = deps
        self.runtime = deps.runtime_client()
        self.body: Json | None = None
        self.phase: str | None = None
        self._token: str | None = None
        self._applied: dict[str, ChildVersion] = {}
        self._applied_digest: str | None = None
        self._applied_at = 0.0
        self._written: Json | None = None  # resourceVersion and status of what our last status patch returned
        self._settled: Settled | None = None
        self._requests = asyncio.Lock()  # one path at a time carries out requests
        self._carried_out: dict[actions.Action, str] = {}  # tokens carried out that status may not echo yet
        self._unposted: list[status_rules.Event] = []  # what carrying them out has to tell, posted by the next pass
        self._requested = requested_refresh.RequestedRefreshes(key, self.runtime)

    async def aclose(self) -> None:
        """Release the connection pool to the runtime (the connector's task has ended)."""
        await self.runtime.aclose()

    # -- inputs --------------------------------------------------------------------------------------------

    def observe(self, body: Json) -> bool:
        """A newer body from the watch; once it includes our last status write, it is the truth again.

        True when the body may call for a pass: anything but the echo of our own last status write, which
        holds nothing the pass that wrote it did not already know.
        """
        self.body = bodies.without_managed_fields(body)
        if self._written is None:
            return True
        version, written = bodies.resource_version(body), bodies.resource_version(self._written)
        if version >= written:
            self._written = None
        return version != written

    @property
    def secret_name(self) -> str | None:
        return bodies.secret_name(self.body or {})

    def _previous_status(self) -> Json:
        source = self._written if self._written is not None else self.body or {}
        return dict(source.get("status") or {})

    # -- the pass ------------------------------------------------------------------------------------------

    async def reconcile(self) -> None:
        """Run the steps in order until one says the pass can go no further, then compute the status once
        from what they observed and write it; an apply that failed is retried with backoff."""
        run = self._begin()
        for step in self._steps:
            if not await step(run):
                break
        await self._publish(run.body, seen=run.observed(), previous=run.previous)
        if run.apply_error or run.repository_error:
            raise ReconcileFailed(run.apply_error or run.repository_error)

    @property
    def _steps(self) -> tuple[Callable[[Pass], Awaitable[bool]], ...]:
        """The pass's steps, in order; each records what it observed and says whether the pass goes on."""
        steps = (self._parse, self._read_secret, self._wait_repository, self._apply_children, self._take_requests)
        return (*steps, self._read_runtime)

    def _begin(self) -> Pass:
        body = self.body
        if body is None or body["metadata"].get("deletionTimestamp"):
            raise ConnectorGone()
        return Pass(
            body=body,
            previous=self._previous_status(),
            generation=int(body["metadata"].get("generation") or 0),
            suspended=bool((body.get("spec") or {}).get("suspend")),
        )

    async def _parse(self, run: Pass) -> bool:
        """The spec, validated by the resource model; an invalid one waits for an edit (no retry)."""
        meta = run.body["metadata"]
        try:
            run.connector = parse_manifest(
                {k: run.body[k] for k in ("apiVersion", "kind", "metadata", "spec")},
                source=f"{meta['namespace']}/{meta['name']}",
            )
        except ManifestError as error:
            run.spec_error = "; ".join(error.problems)
            return False
        return True

    async def _read_secret(self, run: Pass) -> bool:
        assert run.connector is not None
        run.secret_digest = await self._referenced_secret_digest(run.connector)
        run.secret_missing = bodies.secret_name(run.body) if run.secret_digest is None else None
        return True

    async def _wait_repository(self, run: Pass) -> bool:
        """No pod is started, and none rolled, while the shared repository is down (retried with backoff)."""
        verdict = await self.deps.repository.verdict() if self.deps.repository is not None else None
        run.repository_error = verdict.message if verdict is not None and not verdict.available else None
        return run.repository_error is None

    async def _apply_children(self, run: Pass) -> bool:
        """Render the children and apply what changed; what this pass settled on lets refreshes go ahead."""
        assert run.connector is not None
        try:
            token = await self._ensure_token(run.connector)
            children = rendering.children(
                run.connector, config=self.deps.config, token=token, secret_digest=run.secret_digest
            )
            await self._apply(children)
            run.children = children
        except kube.KubeError as error:
            run.apply_error = str(error) or type(error).__name__
        desired_hash = run.desired_hash
        self._settled = (
            Settled(generation=run.generation, desired_hash=desired_hash, secret_digest=run.secret_digest)
            if desired_hash is not None and not run.suspended
            else None
        )
        return True

    async def _take_requests(self, run: Pass) -> bool:
        run.pod = current_pod(self.deps.cache.pods(self.key))
        async with self._requests:
            run.handled = await self._carry_out_requests(
                run.body, previous=run.previous, suspended=run.suspended, pod=run.pod, desired_hash=run.desired_hash
            )
        run.requested_refresh = self._requested.handled(handled=run.handled, previous=run.previous)
        return True

    async def _read_runtime(self, run: Pass) -> bool:
        """How the requested refresh ended, if it did; then the runtime's report (none while suspended), which
        so includes that refresh; and the Deployment as the watch last saw it."""
        run.requested_refresh = await self._requested.latest(
            handled=run.requested_refresh, previous=run.previous, suspended=run.suspended, pod=run.pod
        )
        if not run.suspended:
            run.report, run.runtime_error = await self._read_report(run.pod)
        run.deployment = self.deps.cache.deployment(self.key)
        return True

    def unresolved_request(self) -> tuple[str, RuntimeAddress] | None:
        """The refresh request status says has not ended yet, and the ready runtime to ask about it."""
        requested = requested_refresh.unresolved(self._previous_status())
        address = requested_refresh.runtime_address(current_pod(self.deps.cache.pods(self.key)))
        return (str(requested["requestedAt"]), address) if requested is not None and address is not None else None

    # -- the request lane ----------------------------------------------------------------------------------

    def refresh_due_now(self) -> actions.Request | None:
        """The refresh request in the latest body that may go to the runtime without waiting for a pass:
        nothing the last pass settled on has changed, and no restart is asked for (a pass does that first)."""
        body, settled = self.body, self._settled
        if body is None or settled is None or self._token is None:
            return None
        meta = body["metadata"]
        if int(meta.get("generation") or 0) != settled.generation or (body.get("spec") or {}).get("suspend"):
            return None
        pending = actions.pending_requests(annotations=meta.get("annotations") or {}, status=self._previous_status())
        if not pending or pending[0].action is not actions.Action.REFRESH:
            return None
        request = pending[0]
        if self._carried_out.get(request.action) == request.token:
            return None
        secret = self.secret_name
        if secret is not None and self.deps.cache.secret_digest((self.key[0], secret)) != (True, settled.secret_digest):
            return None  # the Secret changed (or is not seen yet): a pass rolls the pod first
        if not ready_for(current_pod(self.deps.cache.pods(self.key)), settled.desired_hash):
            return None
        return request

    async def refresh_now(self) -> bool:
        """Carry out the refresh request :meth:`refresh_due_now` finds, if it still does once no pass is
        carrying out requests; True when the runtime accepted or refused it (the next pass echoes it)."""
        async with self._requests:
            request, body = self.refresh_due_now(), self.body
            pod = current_pod(self.deps.cache.pods(self.key))
            if request is None or body is None or pod is None or pod.ip is None or self._token is None:
                return False
            return await self._carry_out(body, request, RuntimeAddress(pod.ip), token=self._token)

    # -- steps ---------------------------------------------------------------------------------------------

    async def _referenced_secret_digest(self, connector: ConnectorResource) -> str | None:
        """The digest of spec.connection.secretRef's data (None: no reference, or no such Secret); read
        directly when the watch has not delivered the Secret yet, so a restart never rolls a pod."""
        ref = connector.spec.connection.secret_ref
        if ref is None:
            return None
        key = (connector.metadata.namespace, ref.name)
        known, digest = self.deps.cache.secret_digest(key)
        if not known:
            path = kube.object_path(api_version="v1", kind="Secret", namespace=key[0], name=ref.name)
            secret = await self.deps.kube.get(path)
            digest = rendering.secret_digest(secret.get("data") or {}) if secret is not None else None
            self.deps.cache.set_secret_digest(key, digest)
        return digest

    async def _ensure_token(self, connector: ConnectorResource) -> str:
        """The runtime's API token: generated once, then always read back from its Secret."""
        if self._token is None:
            path = kube.object_path(
                api_version="v1",
                kind="Secret",
                namespace=connector.metadata.namespace,
                name=naming.child_name(connector.metadata.name),
            )
            secret = await self.deps.kube.get(path)
            encoded = ((secret or {}).get("data") or {}).get(naming.TOKEN_KEY)
            self._token = base64.b64decode(encoded).decode() if encoded else secrets.token_urlsafe(32)
        return self._token

    def _drifted(self) -> bool:
        """A child differs from what we applied: deleted, or edited (generation, or version when none)."""
        for kind, applied in self._applied.items():
            seen = self.deps.cache.child(self.key, kind)
            if seen is None:
                return True
            if applied.generation:
                if seen.generation != applied.generation:
                    return True
            elif seen.resource_version != applied.resource_version:
                return True
        return False

    async def _apply(self, children: rendering.Children) -> None:
        desired = children.manifests
        digest = hashlib.sha256(json.dumps(desired, sort_keys=True).encode()).hexdigest()
        due = time.monotonic() - self._applied_at > RESYNC_SECONDS
        if digest == self._applied_digest and not due and not self._drifted():
            return
        for manifest in desired:
            # no local keeps the answer (a whole object) while the next apply waits for a connection
            kind = manifest["kind"]
            version = child_version(kind, await self.deps.kube.apply(manifest, field_manager=naming.FIELD_MANAGER))
            self._applied[kind] = version
            self.deps.cache.record_applied(self.key, kind, version)
            metrics.APPLIES.labels(kind).inc()
        self._applied_digest, self._applied_at = digest, time.monotonic()
        logger.debug("applied the children of %s/%s", *self.key)

    async def _carry_out_requests(
        self, body: Json, *, previous: Json, suspended: bool, pod: PodObservation | None, desired_hash: str | None
    ) -> dict[str, str]:
        """Pending annotation requests: done when the runtime accepted (or refused) them, else left pending."""
        handled: dict[str, str] = {}
        annotations = body["metadata"].get("annotations") or {}
        pending = actions.pending_requests(annotations=annotations, status=previous)
        self._carried_out = {
            request.action: request.token
            for request in pending
            if self._carried_out.get(request.action) == request.token
        }
        ready = ready_for(pod, desired_hash)
        for request in pending:
            if self._carried_out.get(request.action) == request.token:
                handled[request.action.status_field] = request.token  # by refresh_now, not yet echoed
                continue
            if suspended:
                handled[request.action.status_field] = request.token
                self._requested.answered(request, result="Failed", message="the connector is suspended")
                metrics.ACTION_REQUESTS.labels(request.action.value, "suspended").inc()
                await self._event(
                    body,
                    status_rules.Event(
                        "Warning",
                        f"{request.action.event_name}Refused",
                        f"the connector is suspended: {request.action.annotation}={request.token} was not carried out",
                    ),
                )
                continue
            if not ready or pod is None or pod.ip is None or self._token is None:
                continue  # stays pending: carried out by the first pass that finds the runtime ready
            if await self._carry_out(body, request, RuntimeAddress(pod.ip), token=self._token):
                handled[request.action.status_field] = request.token
        unposted, self._unposted = self._unposted, []
        for event in unposted:
            await self._event(body, event)
        return handled

    async def _carry_out(self, body: Json, request: actions.Request, address: RuntimeAddress, *, token: str) -> bool:
        """Send one request to the runtime; True when it accepted or refused it, False when it stays pending.
        Its Event waits for the pass that echoes the token: a burst of requests then reaches the runtimes first."""
        try:
            if request.action is actions.Action.REFRESH:
                accepted = await self.runtime.refresh(address, token=token, request_id=request.token)
                self._requested.answered(request, refresh_id=accepted.refresh_id)
                message = (
                    f"refresh {accepted.refresh_id} requested ({request.action.annotation}="
                    f"{request.token}){', queued behind the running one' if accepted.queued else ''}"
                )
            elif request.action is actions.Action.CONFIRM_ARCHIVE:
                accepted = await self.runtime.refresh(
                    address, token=token, request_id=request.token, confirm_archive=True
                )
                message = (
                    f"archive confirmed ({request.action.annotation}={request.token}): refresh "
                    f"{accepted.refresh_id} may archive past the deletion fail-safe, once"
                    f"{', queued behind the running one' if accepted.queued else ''}"
                )
            else:
                restarted = await self.runtime.restart(address, token=token)
                message = (
                    f"connector restart {restarted.restart_count} requested "
                    f"({request.action.annotation}={request.token})"
                )
        except RuntimeRefused as error:
            self._carried_out[request.action] = request.token
            self._requested.answered(request, result="Failed", message=f"the runtime refused it: {error}")
            metrics.ACTION_REQUESTS.labels(request.action.value, "refused").inc()
            self._unposted.append(
                status_rules.Event(
                    "Warning",
                    f"{request.action.event_name}Refused",
                    f"the runtime refused {request.token}: {error}",
                )
            )
            return True
        except RuntimeUnavailable as error:
            metrics.ACTION_REQUESTS.labels(request.action.value, "failed").inc()
            logger.info("%s of %s/%s stays pending: %s", request.action.value, *self.key, error)
            return False
        self._carried_out[request.action] = request.token
        metrics.ACTION_REQUESTS.labels(request.action.value, "accepted").inc()
        logger.info("%s/%s: %s", *self.key, message)
        self._unposted.append(status_rules.Event("Normal", f"{request.action.event_name}Requested", message))
        return True

    async def _read_report(self, pod: PodObservation | None) -> tuple[ConnectorReport | None, str | None]:
        if pod is None or pod.ip is None or not pod.running or pod.deleting:
            return None, None
        try:
            return await self.runtime.status(RuntimeAddress(pod.ip)), None
        except RuntimeUnavailable as error:
            return None, str(error)

    async def _publish(self, body: Json, *, seen: status_rules.Observed, previous: Json) -> None:
        new = status_rules.compute(seen=seen, previous=previous, now=datetime.now(UTC))
        self.phase = new.get("phase")
        patch = status_rules.merge_patch(previous, new)
        if patch is None:
            return
        meta = body["metadata"]
        path = (
            kube.object_path(
                api_version=body["apiVersion"],
                kind=body["kind"],
                namespace=meta["namespace"],
                name=meta["name"],
                plural=naming.RESOURCE_PLURAL,
            )
            + "/status"
        )
        try:
            self._written = bodies.status_of(await self.deps.kube.merge_patch(path, {"status": patch}))
        except kube.NotFound as error:
            raise ConnectorGone() from error
        metrics.STATUS_WRITES.inc()
        for event in status_rules.events(previous=previous, new=new):
            await self._event(body, event)

    async def _event(self, body: Json, event: status_rules.Event) -> None:
        await events.post(self.deps.kube, connector=body, event=event)
