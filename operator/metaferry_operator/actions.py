"""On-demand refresh, restart and archive confirmation, in Flux's ``requestedAt`` style.

A user writes any new value into an annotation; the operator carries the request out once and then echoes
the value into ``status.lastHandled*At``. "Pending" is simply "annotation differs from status", so the
state survives operator restarts and nothing is kept in memory; nothing ever deletes the annotation, so
there is no metadata write racing with kubectl or GitOps tools. A crash between the runtime call and the
status write is covered by the runtime: ``POST /refresh`` with the same ``requestId`` returns the refresh
it already queued instead of queueing another.

Confirming the archive is a refresh request too (``POST /refresh`` with ``confirmArchive``): the next
refresh archives what the deletion fail-safe refused, once. It has an annotation and a status field of its
own, so a user who writes one timestamp into both annotations asks for both.
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
    CONFIRM_ARCHIVE = "confirm-archive"

    @property
    def annotation(self) -> str:
        return _ANNOTATIONS[self]

    @property
    def status_field(self) -> str:
        return _STATUS_FIELDS[self]

    @property
    def event_name(self) -> str:
        """The action in an Event's reason: ``RefreshRequested``, ``ConfirmArchiveRefused``..."""
        return "".join(word.capitalize() for word in self.value.split("-"))


_ANNOTATIONS = {
    Action.REFRESH: naming.REFRESH_ANNOTATION,
    Action.RESTART: naming.RESTART_ANNOTATION,
    Action.CONFIRM_ARCHIVE: naming.CONFIRM_ARCHIVE_ANNOTATION,
}
_STATUS_FIELDS = {
    Action.REFRESH: "lastHandledRefreshAt",
    Action.RESTART: "lastHandledRestartAt",
    Action.CONFIRM_ARCHIVE: "lastHandledConfirmArchiveAt",
}


@dataclasses.dataclass(frozen=True)
class Request:
    action: Action
    token: str


def pending_requests(*, annotations: Mapping[str, str], status: Mapping[str, Any]) -> list[Request]:
    """Requests whose token is not yet echoed in status; restart first, as a refresh follows every start,
    then the confirmation, so a refresh asked for with it is the confirmed one (the runtime coalesces them)."""
    pending = []
    for action in (Action.RESTART, Action.CONFIRM_ARCHIVE, Action.REFRESH):
        token = annotations.get(action.annotation)
        if token and token != status.get(action.status_field):
            pending.append(Request(action=action, token=token))
    return pending
