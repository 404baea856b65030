"""refresh, restart, suspend, resume and status: what a user does to IntegrationConnectors, and waits for.

Requests go the way `kubectl annotate` sends them (a new token in the request annotation); `--wait` then reads
the status the operator writes back: `lastRequestedRefresh` for a refresh, `lastHandledRestartAt` and the
Ready condition for a restart. The CLI never talks to a connector pod itself.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from metaferry_cli.cluster import Cluster
from metaferry_cli.errors import EXIT_FAILED, CliError
from metaferry_cli.output import Output
from metaferry_cli.status_view import describe, summary_rows
from metaferry_cli.waiting import duration_argument, wait_for
from metaferry_operator import naming
from metaferry_operator.json_types import Json

DEFAULT_TIMEOUT = "5m"


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add this module's commands to the `metaferry` parser."""
    refresh = commands.add_parser("refresh", parents=[common], help="refresh a connector now; --wait for its result")
    refresh.add_argument("name")
    _waiting(refresh)
    refresh.set_defaults(run=run_refresh)

    restart = commands.add_parser("restart", parents=[common], help="restart a connector (disconnect, start again)")
    restart.add_argument("name")
    _waiting(restart)
    restart.set_defaults(run=run_restart)

    for verb, value in (("suspend", True), ("resume", False)):
        command = commands.add_parser(
            verb, parents=[common], help=f"{verb} a connector ({'no' if value else 'scheduled'} refreshes)"
        )
        command.add_argument("name")
        command.set_defaults(run=run_suspend, suspend=value)

    status = commands.add_parser("status", parents=[common], help="one connector in detail, or a table of them")
    status.add_argument("name", nargs="?")
    status.add_argument("--events", type=int, default=10, help="how many recent Events to show (default 10)")
    status.set_defaults(run=run_status)


def _waiting(command: argparse.ArgumentParser) -> None:
    command.add_argument("--wait", action="store_true", help="wait for the result; exit 1 if it failed")
    command.add_argument("--timeout", default=DEFAULT_TIMEOUT, type=duration_argument, help="with --wait (default 5m)")


def new_token() -> str:
    """A value the annotation never had: the time to the microsecond, readable in `kubectl describe`."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


# -- refresh ----------------------------------------------------------------------------------------------


def run_refresh(args: argparse.Namespace, out: Output) -> int:
    cluster = Cluster.from_args(args)
    before = cluster.get(args.name)
    if (before.get("spec") or {}).get("suspend"):
        raise CliError(f"{_where(cluster, args.name)} is suspended: `metaferry resume {args.name}` first")
    token = new_token()
    cluster.patch(args.name, _annotation(naming.REFRESH_ANNOTATION, token))
    if not args.wait:
        return _requested(out, cluster, args.name, naming.REFRESH_ANNOTATION, token)
    requested = wait_for(
        lambda: _refresh_outcome(cluster.get(args.name), token),
        timeout=args.timeout,
        out=out,
        what=f"the refresh requested of {_where(cluster, args.name)} ({naming.REFRESH_ANNOTATION}={token})",
    )
    if out.text:
        _print_refresh(out, cluster, args.name, requested)
    else:
        out.document({"name": args.name, "namespace": cluster.namespace, **requested})
    return 0 if requested.get("result") == "Succeeded" else EXIT_FAILED


def _refresh_outcome(body: Json, token: str) -> tuple[Json | None, str]:
    """How our request ended, or what it waits for. A newer token handled before ours ended supersedes it."""
    status = body.get("status") or {}
    requested = status.get("lastRequestedRefresh") or {}
    annotations = (body.get("metadata") or {}).get("annotations") or {}
    if requested.get("requestedAt") == token:
        if requested.get("result"):
            return requested, ""
        return None, f"refresh {requested.get('refreshId') or ''} is running".replace("  ", " ")
    if annotations.get(naming.REFRESH_ANNOTATION) != token:
        newer = annotations.get(naming.REFRESH_ANNOTATION)
        return {
            "requestedAt": token,
            "result": "Superseded",
            "message": f"a newer request ({naming.REFRESH_ANNOTATION}={newer}) replaced it before it was handled",
        }, ""
    return None, "waiting for the operator to hand the request to the connector"


def _print_refresh(out: Output, cluster: Cluster, name: str, requested: Json) -> None:
    result = str(requested.get("result"))
    took = _took(requested)
    refresh_id = requested.get("refreshId")
    out.line(
        f"{_where(cluster, name)}: refresh {refresh_id or '(none)'} {out.result(result)}"
        f"{f' in {took}' if took else ''} ({naming.REFRESH_ANNOTATION}={requested.get('requestedAt')})"
    )
    statistics = requested.get("statistics")
    if statistics:
        out.line("  " + statistics_line(statistics))
    if requested.get("message"):
        out.line(f"  {requested['message']}")


def statistics_line(statistics: Json) -> str:
    counts = ("created", "updated", "unchanged", "archived", "deleted")
    line = ", ".join(f"{statistics.get(key, 0)} {key}" for key in counts)
    errors = statistics.get("errors") or []
    return line + (f"; first error: {errors[0]}" if errors else "")


def _took(requested: Json) -> str:
    started, finished = requested.get("startedAt"), requested.get("finishedAt")
    if not started or not finished:
        return ""
    seconds = (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()
    return f"{seconds:.1f}s"


# -- restart, suspend, resume -----------------------------------------------------------------------------


def run_restart(args: argparse.Namespace, out: Output) -> int:
    cluster = Cluster.from_args(args)
    cluster.get(args.name)
    token = new_token()
    cluster.patch(args.name, _annotation(naming.RESTART_ANNOTATION, token))
    if not args.wait:
        return _requested(out, cluster, args.name, naming.RESTART_ANNOTATION, token)
    status = wait_for(
        lambda: _restarted(cluster.get(args.name), token),
        timeout=args.timeout,
        out=out,
        what=f"the restart of {_where(cluster, args.name)} ({naming.RESTART_ANNOTATION}={token})",
    )
    if out.text:
        restarts = status.get("restartCount")
        out.line(f"{_where(cluster, args.name)}: restarted, {out.result('Ready')} (restarts: {restarts})")
    else:
        out.document({"name": args.name, "namespace": cluster.namespace, "restartedAt": token, "status": status})
    return 0


def _restarted(body: Json, token: str) -> tuple[Json | None, str]:
    status = body.get("status") or {}
    if status.get("lastHandledRestartAt") != token:
        return None, "waiting for the operator to hand the restart to the connector"
    ready = _condition(status, "Ready")
    if ready.get("status") != "True":
        return None, f"restarted; waiting for Ready ({ready.get('reason') or 'no Ready condition yet'})"
    return status, ""


def run_suspend(args: argparse.Namespace, out: Output) -> int:
    cluster = Cluster.from_args(args)
    body = cluster.patch(args.name, {"spec": {"suspend": args.suspend}})
    verb = "suspended" if args.suspend else "resumed"
    if out.text:
        out.line(f"{_where(cluster, args.name)} {verb}")
    else:
        out.document({"name": args.name, "namespace": cluster.namespace, "suspend": body["spec"].get("suspend")})
    return 0


# -- status -----------------------------------------------------------------------------------------------


def run_status(args: argparse.Namespace, out: Output) -> int:
    cluster = Cluster.from_args(args)
    if args.name is None:
        connectors = cluster.connectors()
        if not out.text:
            out.document([_document(body, None) for body in connectors])
        elif not connectors:
            out.line(f"no IntegrationConnectors in {'any namespace' if cluster.all_namespaces else cluster.namespace}")
        else:
            header, rows = summary_rows(connectors, all_namespaces=cluster.all_namespaces, now=datetime.now(UTC))
            out.table(header, rows)
        return 0
    body = cluster.get(args.name)
    events = cluster.events(args.name)[-args.events :] if args.events > 0 else []
    if out.text:
        for line in describe(body, events, now=datetime.now(UTC), paint=out):
            out.line(line)
    else:
        out.document(_document(body, events))
    return 0


def _document(body: Json, events: list[Json] | None) -> Json:
    meta = body.get("metadata") or {}
    document: Json = {
        "name": meta.get("name"),
        "namespace": meta.get("namespace"),
        "spec": body.get("spec") or {},
        "status": body.get("status") or {},
    }
    if events is not None:
        document["events"] = [
            {
                "type": event.get("type"),
                "reason": event.get("reason"),
                "message": event.get("message"),
                "count": event.get("count"),
                "lastTimestamp": event.get("lastTimestamp") or event.get("eventTime"),
            }
            for event in events
        ]
    return document


# -- shared -----------------------------------------------------------------------------------------------


def _annotation(annotation: str, token: str) -> Json:
    return {"metadata": {"annotations": {annotation: token}}}


def _requested(out: Output, cluster: Cluster, name: str, annotation: str, token: str) -> int:
    if out.text:
        out.line(f"{_where(cluster, name)}: requested ({annotation}={token})")
    else:
        out.document({"name": name, "namespace": cluster.namespace, "annotation": annotation, "token": token})
    return 0


def _condition(status: Json, kind: str) -> Json:
    return next((c for c in status.get("conditions") or [] if c.get("type") == kind), {})


def _where(cluster: Cluster, name: str) -> str:
    return f"{cluster.namespace}/{name}"
