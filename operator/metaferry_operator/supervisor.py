"""One asyncio task per connector, woken by watch events and by its poll interval.

Why not kopf daemons or timers: kopf puts a finalizer on every object that has one, and a finalizer
makes ``kubectl delete ic NAME`` hang whenever the operator is down. These tasks need none: the
children are garbage-collected through their owner references, and the task simply ends when the watch
reports the deletion. Why per connector: a runtime that hangs or fails costs its own task one HTTP
timeout and never delays another connector (Strimzi #12004); each task has its own connection pool to
its runtime, closed when the task ends. Concurrency towards the API server is bounded by the Kubernetes
client's connection pool (``METAFERRY_MAX_WORKERS``).

Events that only echo the operator's own writes (its last status patch, the children it applied) wake
nobody: the pass that wrote them already knew everything they hold. Any other event wakes the task, which
waits 0.1 s for the rest of a burst (an edit, then the controller's status updates, then an annotation),
then makes one pass; a wake-up during a pass makes it run once more after it. Errors back off
exponentially (1 s doubling to 60 s); events still wake the task.

A refresh request that may go ahead without a pass (see ``reconciler``) gets a short-lived second task,
the request lane, so it never waits for the pass that is running when it arrives. A handled refresh
request whose refresh has not ended gets a third, the request watch: one held ``GET /refresh-requests/{id}``
at a time, which wakes the task the moment that refresh ends, so its result reaches status within a moment
rather than at the next poll.

With leader election a standby replica's supervisor starts inactive: it keeps the latest body of every
connector its watches report but runs no task until :meth:`Supervisor.activate`, so it acts the moment it
leads, from a warm cache, without a re-list.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from metaferry_operator import kube, metrics
from metaferry_operator.cache import Key
from metaferry_operator.reconciler import ConnectorGone, ConnectorReconciler, Dependencies, ReconcileFailed

logger = logging.getLogger(__name__)
MAX_BACKOFF = 60.0
SETTLE_SECONDS = 0.1
UNRESOLVED_POLL_SECONDS = 2.0  # the poll while a requested refresh's result is not in status
WATCH_SECONDS = 30.0  # how long one held GET /refresh-requests/{id} waits before it is asked again
# failures whose message says it all: logged without a traceback
_EXPLAINED = (ReconcileFailed, kube.KubeError, OSError, LookupError, ValueError)


class _Worker:
    def __init__(self, *, key: Key, deps: Dependencies, on_phase: Any) -> None:
        self.reconciler = ConnectorReconciler(key=key, deps=deps)
        self.wake = asyncio.Event()
        self._interval = deps.config.status_poll_interval
        self._on_phase = on_phase
        self.task = asyncio.create_task(self._run(), name=f"connector {key[0]}/{key[1]}")
        self.lane: asyncio.Task[None] | None = None
        self.watch: asyncio.Task[None] | None = None
        self._watched: str | None = None

    def offer_requests(self) -> None:
        """Start the request lane when the latest body asks for a refresh that need not wait for a pass."""
        if (self.lane is None or self.lane.done()) and self.reconciler.refresh_due_now() is not None:
            key = self.reconciler.key
            self.lane = asyncio.create_task(self._request_lane(), name=f"requests of {key[0]}/{key[1]}")

    async def _request_lane(self) -> None:
        try:
            while self.reconciler.refresh_due_now() is not None and await self.reconciler.refresh_now():
                self.wake.set()  # a pass echoes the token in status
        except Exception as error:  # the pass carries the request out instead
            logger.info("request lane of %s/%s: %s", *self.reconciler.key, error)

    def offer_watch(self) -> None:
        """Start the request watch when status holds a refresh request whose refresh has not ended: the runtime
        holds the watch's call until it ends, and the pass it wakes writes the result within a moment."""
        unresolved = self.reconciler.unresolved_request()
        if unresolved is None:
            logger.debug("no refresh request of %s/%s to watch", *self.reconciler.key)
            return
        token, _ = unresolved
        if self.watch is not None and not self.watch.done() and self._watched == token:
            return
        if self.watch is not None:
            self.watch.cancel()
        key = self.reconciler.key
        logger.debug("watching refresh request %s of %s/%s", token, *key)
        self._watched = token
        self.watch = asyncio.create_task(self._watch_request(token), name=f"request of {key[0]}/{key[1]}")

    async def _watch_request(self, token: str) -> None:
        try:
            while (unresolved := self.reconciler.unresolved_request()) is not None and unresolved[0] == token:
                outcome = await self.reconciler.runtime.refresh_request(
                    unresolved[1], request_id=token, wait=WATCH_SECONDS
                )
                logger.debug("request watch of %s/%s: %s", *self.reconciler.key, outcome)
                if outcome is None or outcome.state.is_final:
                    self.wake.set()  # the pass reads the outcome and writes it
                    return
        except Exception as error:  # the next pass asks the runtime itself
            logger.info("request watch of %s/%s: %s", *self.reconciler.key, error)

    def cancel(self) -> list[asyncio.Task[None]]:
        tasks = [task for task in (self.task, self.lane, self.watch) if task is not None]
        for task in tasks:
            task.cancel()
        return tasks

    async def _run(self) -> None:
        try:
            await self._passes()
        finally:  # ended: the connector is gone, or the task was cancelled
            for task in (self.lane, self.watch):
                if task is not None:
                    task.cancel()
            await self.reconciler.aclose()

    async def _passes(self) -> None:
        failures = 0
        loop = asyncio.get_running_loop()
        while True:
            self.wake.clear()
            started = loop.time()
            before = self.reconciler.phase
            try:
                await self.reconciler.reconcile()
            except ConnectorGone:
                return
            except Exception as error:
                failures += 1
                metrics.RECONCILES.labels("error").inc()
                logger.warning(
                    "reconcile of %s/%s failed (attempt %d): %s",
                    *self.reconciler.key,
                    failures,
                    error,
                    exc_info=not isinstance(
                        error, ReconcileFailed | kube.KubeError | OSError | LookupError | ValueError
                    ),
                )
                delay = min(2.0 ** (failures - 1), MAX_BACKOFF)
            else:
                failures = 0
                metrics.RECONCILES.labels("success").inc()
                delay = self._interval
                if self.reconciler.unresolved_request() is not None:  # in case the watch misses the end
                    delay = min(delay, UNRESOLVED_POLL_SECONDS)
            finally:
                metrics.RECONCILE_SECONDS.observe(loop.time() - started)
                if self.reconciler.phase != before:
                    self._on_phase(before, self.reconciler.phase)
            self.offer_watch()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=delay)
                await asyncio.sleep(SETTLE_SECONDS)  # woken: let the burst of events end, then one pass


class Supervisor:
    """The set of connector tasks, keyed by (namespace, name)."""

    def __init__(self, deps: Dependencies, *, active: bool = True) -> None:
        self.deps = deps
        self.active = active
        self._workers: dict[Key, _Worker] = {}
        self._standing_by: dict[Key, dict[str, Any]] = {}  # latest bodies seen while inactive

    def __len__(self) -> int:
        return len(self._workers)

    def observe_connector(self, body: dict[str, Any], *, deleted: bool) -> None:
        meta = body["metadata"]
        key = (meta["namespace"], meta["name"])
        gone = deleted or bool(meta.get("deletionTimestamp"))
        if not self.active:
            if gone:
                self._standing_by.pop(key, None)
            else:
                self._standing_by[key] = body
            return
        if gone:
            self._stop(key)
            return
        worker = self._workers.get(key)
        if worker is None or worker.task.done():
            worker = self._workers[key] = _Worker(key=key, deps=self.deps, on_phase=self._phase_changed)
            metrics.CONNECTORS.set(len(self._workers))
        if worker.reconciler.observe(body):
            worker.offer_requests()
            worker.wake.set()

    def activate(self) -> None:
        """Start acting: one task per connector seen so far (this replica now holds the Lease)."""
        self.active = True
        bodies, self._standing_by = self._standing_by, {}
        for body in bodies.values():
            self.observe_connector(body, deleted=False)

    def wake(self, key: Key) -> None:
        worker = self._workers.get(key)
        if worker is not None:
            worker.wake.set()

    def wake_secret_users(self, namespace: str, secret_name: str) -> None:
        """Wake the connectors whose spec.connection.secretRef names this Secret (its change rolls them)."""
        for (worker_namespace, _), worker in self._workers.items():
            if worker_namespace == namespace and worker.reconciler.secret_name == secret_name:
                worker.wake.set()

    def _stop(self, key: Key) -> None:
        worker = self._workers.pop(key, None)
        if worker is None:
            return
        worker.cancel()
        self._phase_changed(worker.reconciler.phase, None)
        self.deps.cache.forget(key)
        metrics.CONNECTORS.set(len(self._workers))

    @staticmethod
    def _phase_changed(old: str | None, new: str | None) -> None:
        if old:
            metrics.CONNECTORS_BY_PHASE.labels(old).dec()
        if new:
            metrics.CONNECTORS_BY_PHASE.labels(new).inc()

    async def close(self) -> None:
        """Cancel every task and wait for them; nothing is acted on afterwards."""
        self.active = False
        workers = list(self._workers.values())
        self._workers.clear()
        tasks = [task for worker in workers for task in worker.cancel()]
        await asyncio.gather(*tasks, return_exceptions=True)
