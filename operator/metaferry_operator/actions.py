"""On-demand refresh and restart, in Flux's ``requestedAt`` style.

A user writes any new value into an annotation; the operator carries the request out once and then echoes
the value into ``status.lastHandled*At``. "Pending" is simply "annotation differs from status", so the
state survives operator restarts and nothing is kept in memory; nothing ever deletes the annotation, so
there is no metadata write racing with kubectl or GitOps tools. A crash between the runtime call and the
status write is covered by the runtime: ``POST /refresh`` with the same ``requestId`` returns the refresh
it already queued instead of queueing another.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any

from metaferry_operator import naming


class Action(enum.StrEnum):
    REFRESH = "refresh"
    RESTART = "restart"

    @property
    def annotation(self) -> str:
        return naming.REFRESH_ANNOTATION if self is Action.REFRESH else naming.RESTART_ANNOTATION

    @property
    def status_field(self) -> str:
        return "lastHandledRefreshAt" if self is Action.REFRESH else "lastHandledRestartAt"


@dataclasses.dataclass(frozen=True)
class Request:
    action: Action
    token: str


def pending_requests(*, annotations: Mapping[str, str], status: Mapping[str, Any]) -> list[Request]:
    """Requests whose token is not yet echoed in status; restart first, as a refresh follows every start."""
    pending = []
    for action in (Action.RESTART, Action.REFRESH):
        token = annotations.get(action.annotation)
        if token and token != status.get(action.status_field):
            pending.append(Request(action=action, token=token))
    return pending
