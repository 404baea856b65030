"""How one connector's latest requested refresh ended: what `status.lastRequestedRefresh` says, and when.

The annotation's token is handled by a pass (the runtime accepts it and answers a refresh id, or refuses);
that pass writes `lastRequestedRefresh` without a result. A later pass, woken by the supervisor's request
watch the moment the runtime says the refresh ended, reads `GET /refresh-requests/{token}` and writes the
result. The record of what the runtime answered lives here until the pass that echoes the token uses it.
"""

from __future__ import annotations

import logging

from metaferry_operator import actions, status_rules
from metaferry_operator.json_types import Json
from metaferry_operator.observation import PodObservation
from metaferry_operator.runtime_client import RuntimeAddress, RuntimeClient, RuntimeUnavailable
from metaferry_runtime.resource import RequestedRefreshResult

logger = logging.getLogger(__name__)


class RequestedRefreshes:
    """One connector's requested refreshes; owned by its reconciler (so by one task)."""

    def __init__(self, key: tuple[str, str], runtime: RuntimeClient) -> None:
        self._key = key
        self._runtime = runtime
        self._answers: dict[str, Json] = {}  # the latest refresh token -> its status.lastRequestedRefresh

    def answered(
        self,
        request: actions.Request,
        *,
        refresh_id: str | None = None,
        result: str | None = None,
        message: str | None = None,
    ) -> None:
        """Remember what the runtime answered a refresh request, for the pass that echoes its token."""
        if request.action is not actions.Action.REFRESH:
            return
        answer: Json = {"requestedAt": request.token}
        if refresh_id is not None:
            answer["refreshId"] = refresh_id
        if result is not None:
            answer["result"] = result
        if message is not None:
            answer["message"] = message[:4096]
        self._answers = {request.token: answer}

    def handled(self, *, handled: Json, previous: Json) -> Json | None:
        """The new `lastRequestedRefresh` when this pass handled a new refresh token, else None."""
        field = actions.Action.REFRESH.status_field
        token = handled.get(field)
        if token is None or token == previous.get(field):
            return None
        return self._answers.get(token) or {"requestedAt": token}

    async def latest(
        self, *, handled: Json | None, previous: Json, suspended: bool, pod: PodObservation | None
    ) -> Json | None:
        """The `lastRequestedRefresh` this pass writes (None: leave status as it is): the request it handled,
        with its result already when that refresh has ended (a fast one often has: one pass, not two), else
        the unresolved request in status once its refresh has ended."""
        if handled is not None:
            if handled.get("result"):
                return handled
            return await self._ended(handled, suspended=suspended, pod=pod) or handled
        pending = unresolved(previous)
        return None if pending is None else await self._ended(pending, suspended=suspended, pod=pod)

    async def _ended(self, requested: Json, *, suspended: bool, pod: PodObservation | None) -> Json | None:
        """`requested` with its result once the refresh it joined has ended (None: not yet, or not known)."""
        if suspended:
            return {
                **requested,
                "result": RequestedRefreshResult.SUPERSEDED.value,
                "message": "the connector was suspended before its refresh ended",
            }
        address = runtime_address(pod)
        if address is None:
            return None
        try:
            outcome = await self._runtime.refresh_request(address, request_id=requested["requestedAt"])
        except RuntimeUnavailable as error:
            logger.info("the outcome of %s/%s's refresh request is not known yet: %s", *self._key, error)
            return None
        logger.debug("refresh request %s of %s/%s: %s", requested["requestedAt"], *self._key, outcome)
        return status_rules.requested_refresh_outcome(requested, outcome)


def unresolved(status: Json) -> Json | None:
    """The `lastRequestedRefresh` in `status` that has no result yet."""
    requested = status.get(status_rules.REQUESTED_REFRESH)
    if not isinstance(requested, dict) or requested.get("result") or not requested.get("requestedAt"):
        return None
    return requested


def runtime_address(pod: PodObservation | None) -> RuntimeAddress | None:
    """The runtime to ask about a request: the running pod's, none while it starts or goes."""
    if pod is None or pod.ip is None or not pod.running or pod.deleting:
        return None
    return RuntimeAddress(pod.ip)
