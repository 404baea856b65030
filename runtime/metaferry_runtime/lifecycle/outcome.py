"""What one refresh reports: its record, its statistics and the deletion fail-safe's refusal, built from its
outcome by pure functions (the engine keeps the counters, logs and metrics)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from metaferry_runtime.audit import RuntimeMessages
from metaferry_runtime.lifecycle.scheduler import PendingRefresh
from metaferry_runtime.report import RefreshRecord, RefreshResult
from metaferry_runtime.repository import ChangeCounts, FailSafeRefusal
from metaferry_runtime.resource import ArchiveRefusal, RefreshStatistics

MAX_ERRORS_IN_REPORT = 10


def describe_error(error: BaseException, *, mask: Callable[[str], str]) -> str:
    """An error as the report shows it: its type and message (the type alone when it has none), masked."""
    return mask(f"{type(error).__name__}: {str(error) or type(error).__name__}")


def refresh_record(
    refresh: PendingRefresh,
    *,
    started: datetime,
    duration: float,
    result: RefreshResult,
    counts: ChangeCounts,
    error: str | None,
    refusals: list[FailSafeRefusal],
) -> RefreshRecord:
    """The record of a finished refresh; `error` is already described and masked."""
    errors = [error] if error else []
    statistics = RefreshStatistics(
        created=counts.created,
        updated=counts.updated,
        unchanged=counts.unchanged,
        archived=counts.archived,
        deleted=counts.deleted,
        would_archive=counts.would_archive + sum(refusal.would_archive for refusal in refusals),
        errors=errors[:MAX_ERRORS_IN_REPORT],
    )
    return RefreshRecord(
        refresh_id=refresh.refresh_id,
        trigger=refresh.trigger,
        started=started,
        duration_seconds=round(duration, 6),
        result=result,
        statistics=statistics,
        error=errors[0] if errors else None,
    )


def summarise_refusals(
    refresh_id: str, refusals: list[FailSafeRefusal], *, connector_name: str, mask: Callable[[str], str]
) -> ArchiveRefusal | None:
    """One refusal for the report from the refresh's refusals (one per deletion-detection scope). The message
    is masked: a scope names a qualified-name prefix, which the connector made from its endpoint."""
    if not refusals:
        return None
    would_archive = sum(refusal.would_archive for refusal in refusals)
    in_scope = sum(refusal.in_scope for refusal in refusals)
    limit = min(refusal.max_archive_percent for refusal in refusals)
    message = RuntimeMessages.ARCHIVE_REFUSED
    return ArchiveRefusal(
        refresh_id=refresh_id,
        would_archive=would_archive,
        in_scope=in_scope,
        max_archive_percent=limit,
        message_id=message.message_id,
        message=mask(
            message.format(
                connector_name=connector_name,
                would_archive=would_archive,
                in_scope=in_scope,
                scope="; ".join(refusal.scope for refusal in refusals),
                percent=round(would_archive * 100 / in_scope) if in_scope else 0,
                limit=limit,
            )
        )[:4096],
    )
