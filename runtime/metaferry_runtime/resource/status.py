"""`status` of an IntegrationConnector, written only by the operator.

Conditions follow the Kubernetes API conventions (and kstatus): `Ready` is always present; `Reconciling`
and `Stalled` are present only while true. Volatile values (such as the time of the last poll) are kept
out so that an unchanged connector causes no status writes.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from metaferry_runtime.resource.base import KubeModel


class Phase(StrEnum):
    """A one-word summary for `kubectl get`; conditions carry the detail."""

    PENDING = "Pending"
    RUNNING = "Running"
    REFRESHING = "Refreshing"
    SUSPENDED = "Suspended"
    FAILED = "Failed"
    DEGRADED = "Degraded"


class Condition(KubeModel):
    """A Kubernetes condition (metav1.Condition)."""

    type: str = Field(min_length=1, max_length=316)
    status: str = Field(pattern=r"^(True|False|Unknown)$")
    reason: str = Field(min_length=1, max_length=1024, pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")
    message: str = Field(default="", max_length=32768)
    last_transition_time: datetime
    observed_generation: int | None = Field(default=None, ge=0)


class RefreshStatistics(KubeModel):
    """What the last refresh changed in the open metadata repository."""

    created: int = Field(default=0, ge=0)
    updated: int = Field(default=0, ge=0)
    unchanged: int = Field(default=0, ge=0)
    archived: int = Field(default=0, ge=0)
    deleted: int = Field(default=0, ge=0)
    would_archive: int = Field(
        default=0, ge=0, description="Elements deletion detection would archive (dry run or fail-safe)."
    )
    errors: list[str] = Field(default_factory=list, max_length=10, description="The first errors, masked.")


class ArchiveRefusal(KubeModel):
    """The deletion fail-safe refused the last refresh's archive; the rest of that refresh was committed."""

    refresh_id: str = Field(description="The refresh whose archive was refused.")
    would_archive: int = Field(ge=0, description="Owned elements the refresh no longer saw and did not archive.")
    in_scope: int = Field(ge=0, description="Owned elements deletion detection looked at.")
    max_archive_percent: int = Field(ge=0, le=100, description="spec.deletionDetection.maxArchivePercent.")
    message_id: str = Field(description="The audit message id of the refusal.")
    message: str = Field(default="", max_length=4096, description="What was refused and how to confirm it.")


class RequestedRefreshResult(StrEnum):
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    SUPERSEDED = "Superseded"


class RequestedRefresh(KubeModel):
    """How the last handled metaferry.io/refresh-requested-at request ended. Without `result` its refresh has
    not ended yet: wait for `requestedAt` to be your value, then for `result`."""

    requested_at: str = Field(description="The annotation's value this request carried.")
    refresh_id: str | None = Field(default=None, description="The runtime's id of the refresh it joined.")
    result: RequestedRefreshResult | None = Field(
        default=None,
        description="Succeeded or Failed when its refresh ended; Superseded when a newer request, a restart or a"
        " new pod took its place before it ended. Absent while the refresh is queued or running.",
    )
    started_at: datetime | None = None
    finished_at: datetime | None = None
    statistics: RefreshStatistics | None = None
    message: str | None = Field(default=None, max_length=4096, description="Why it failed or was superseded.")


class IntegrationConnectorStatus(KubeModel):
    """The observed state of one integration connector."""

    observed_generation: int | None = None
    conditions: list[Condition] = Field(
        default_factory=list,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    phase: Phase | None = None
    connector_status: str | None = Field(default=None, description="The runtime's status (Egeria's names).")
    pod_name: str | None = None
    last_refresh_time: datetime | None = None
    last_refresh_duration: str | None = Field(default=None, description="Duration of the last refresh, e.g. 1.5s.")
    next_refresh_time: datetime | None = None
    refresh_count: int | None = Field(default=None, ge=0)
    failed_refresh_count: int | None = Field(default=None, ge=0)
    restart_count: int | None = Field(default=None, ge=0)
    last_error: str | None = Field(default=None, max_length=4096)
    last_handled_refresh_at: str | None = Field(
        default=None, description="The last metaferry.io/refresh-requested-at value handled."
    )
    last_handled_restart_at: str | None = Field(
        default=None, description="The last metaferry.io/restart-requested-at value handled."
    )
    last_handled_confirm_archive_at: str | None = Field(
        default=None, description="The last metaferry.io/confirm-archive-requested-at value handled."
    )
    last_requested_refresh: RequestedRefresh | None = None
    statistics: RefreshStatistics | None = None
    archive_refused: ArchiveRefusal | None = Field(
        default=None,
        description="Set while the last refresh's archive was refused by the deletion fail-safe; confirm it with"
        " the metaferry.io/confirm-archive-requested-at annotation or raise maxArchivePercent.",
    )
