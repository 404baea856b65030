"""The table `metaferry-runtime run --once` prints: what one refresh did."""

from __future__ import annotations

from metaferry_runtime.lifecycle import ConnectorRuntime
from metaferry_runtime.report import RefreshRecord


def print_refresh_summary(runtime: ConnectorRuntime, record: RefreshRecord | None, *, repository_url: str) -> None:
    report = runtime.report()
    rows: list[tuple[str, str]] = [
        ("connector", f"{report.connector_name} ({report.connector}, {report.integration_service} service)"),
        ("metadata source", report.metadata_source_qualified_name),
        ("repository", repository_url),
    ]
    if record is None:
        status = runtime.last_failure_status or report.status
        rows += [("result", f"connector did not start: {status.value}"), ("error", report.last_error or "-")]
    else:
        stats = record.statistics
        rows += [
            ("result", record.result.value),
            ("duration", f"{record.duration_seconds:.3f}s"),
            ("created", str(stats.created)),
            ("updated", str(stats.updated)),
            ("unchanged", str(stats.unchanged)),
            ("archived", str(stats.archived)),
        ]
        if stats.would_archive:
            rows.append(("would archive", str(stats.would_archive)))
        refused = report.archive_refused
        if refused is not None:
            rows.append(("archive refused", refused.message))
        if record.error:
            rows.append(("error", record.error))
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")
