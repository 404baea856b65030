"""The connector report: what `GET /status` returns and what the operator copies into the resource's status.

It is Egeria's integration connector report (status, last status change, refresh times, failing message,
statistics) plus the counters users of Egeria and Kafka Connect asked for (restarts, failed refreshes).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from metaferry_runtime.resource.base import KubeModel
from metaferry_runtime.resource.status import ArchiveRefusal, RefreshStatistics


class ConnectorStatus(StrEnum):
    """Egeria's integration connector statuses; FAILED here is recoverable by automatic restart."""

    INITIALIZED = "INITIALIZED"
    WAITING = "WAITING"
    REFRESHING = "REFRESHING"
    RUNNING = "RUNNING"
    STOPPED = "STOPPED"
    INITIALIZE_FAILED = "INITIALIZE_FAILED"
    CONFIG_FAILED = "CONFIG_FAILED"
    FAILED = "FAILED"
    DISCONNECTED = "DISCONNECTED"

    @property
    def is_failure(self) -> bool:
        return self in (ConnectorStatus.INITIALIZE_FAILED, ConnectorStatus.CONFIG_FAILED, ConnectorStatus.FAILED)


class RefreshResult(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"


class RefreshRecord(KubeModel):
    """One finished refresh, kept so `GET /status` can show the latest ones."""

    refresh_id: str
    trigger: str = Field(description="start, interval, request or restart")
    started: datetime
    duration_seconds: float
    result: RefreshResult
    statistics: RefreshStatistics
    error: str | None = None


#: `ConnectorReport.failure_reason` when the configuration properties do not match the connector's model.
INVALID_CONFIGURATION = "InvalidConfiguration"


class ConnectorReport(KubeModel):
    """The state of the one connector a runtime process runs."""

    connector_name: str
    connector_instance_id: str
    connector: str = Field(description="The connector's entry-point name or module:Class.")
    integration_service: str
    metadata_source_qualified_name: str
    status: ConnectorStatus
    last_status_change: datetime
    last_refresh_time: datetime | None = None
    last_refresh_duration_seconds: float | None = None
    next_refresh_time: datetime | None = None
    refresh_count: int = 0
    failed_refresh_count: int = 0
    restart_count: int = 0
    pending_refresh_requests: int = Field(default=0, description="Requests queued behind a running refresh (0 or 1).")
    last_error: str | None = None
    failure_reason: str | None = Field(
        default=None,
        description="Why the last failure happened, when the runtime knows: InvalidConfiguration (the"
        " configuration properties do not match the connector's model).",
    )
    last_refresh: RefreshRecord | None = None
    last_handled_refresh_id: str | None = None
    statistics: RefreshStatistics = Field(default_factory=RefreshStatistics)
    archive_refused: ArchiveRefusal | None = Field(
        default=None, description="The deletion fail-safe refused the last refresh's archive (the rest committed)."
    )


class RefreshAccepted(KubeModel):
    """`POST /refresh` answer (202): the id the requested refresh will carry."""

    refresh_id: str
    queued: bool = Field(description="True when a refresh was running and this request will run after it.")
    archive_confirmed: bool = Field(
        default=False, description="True when the next refresh may archive past the deletion fail-safe, once."
    )


class RestartAccepted(KubeModel):
    restart_count: int


class RequestState(StrEnum):
    """Where one refresh request is: waiting for its refresh, in it, or done with it (the last three)."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SUPERSEDED = "superseded"

    @property
    def is_final(self) -> bool:
        return self in (RequestState.SUCCEEDED, RequestState.FAILED, RequestState.SUPERSEDED)


class RefreshRequestOutcome(KubeModel):
    """`GET /refresh-requests/{requestId}`: how the refresh a request joined is doing, or how it ended.

    Superseded: a restart dropped the queued refresh before it ran (the restart's own refresh runs instead)."""

    request_id: str
    refresh_id: str
    state: RequestState
    started_at: datetime | None = None
    finished_at: datetime | None = None
    statistics: RefreshStatistics | None = None
    error: str | None = Field(default=None, description="Why the refresh failed, or what superseded it; masked.")
