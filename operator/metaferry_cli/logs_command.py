"""logs: the connector pod's audit records (Egeria's audit log), formatted, from `pods/log` as `kubectl logs`.

In a pod the runtime writes JSON lines: audit records (they carry a `messageId`) and ordinary log records
(`level`, `logger`). People mostly want the audit trail, so that is the default; `--all` adds the rest, and
a line that is not JSON (a crash before logging was set up) is always shown as it is.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Iterator
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from metaferry_cli.cluster import Cluster
from metaferry_cli.errors import CliError
from metaferry_cli.output import Output
from metaferry_operator import naming
from metaferry_operator.json_types import Json

SEVERITY_COLOURS = {"Error": "red", "Exception": "red", "Security": "red", "Warning": "yellow", "Startup": "green"}
LEVEL_COLOURS = {"ERROR": "red", "CRITICAL": "red", "WARNING": "yellow"}


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add `logs` to the `metaferry` parser."""
    logs = commands.add_parser("logs", parents=[common], help="the connector pod's audit records, formatted")
    logs.add_argument("name")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new records")
    logs.add_argument("--tail", type=int, default=-1, metavar="N", help="only the last N lines of the log")
    logs.add_argument("--previous", action="store_true", help="the runtime's previous run (after a restart)")
    logs.add_argument("--severity", action="append", default=[], metavar="S", help="only these (e.g. Error)")
    logs.add_argument("--all", action="store_true", help="ordinary log records too, not only audit records")
    logs.set_defaults(run=run_logs)


def run_logs(args: argparse.Namespace, out: Output) -> int:
    cluster = Cluster.from_args(args)
    cluster.get(args.name)  # a clear error for an unknown connector before looking for its pod
    pod = connector_pod(cluster, args.name)
    lines = _log_lines(cluster, pod, args)
    shown = (r for r in map(parse_line, lines) if _wanted(r, args))
    if out.text:
        for record in shown:
            out.line(format_record(record, out))
    elif args.follow:  # a stream: one JSON document a line, as they come
        for record in shown:
            out.line(json.dumps(record))
    else:
        out.document(list(shown))
    return 0


def connector_pod(cluster: Cluster, name: str) -> str:
    """The connector's pod: the running one, else the newest (a crash-looping pod still has a log)."""
    selector = ",".join(f"{key}={value}" for key, value in naming.selector_labels(name).items())
    try:
        found = client.CoreV1Api(cluster.api).list_namespaced_pod(cluster.namespace, label_selector=selector)
    except (ApiException, HTTPError) as error:
        raise CliError(f"cannot list the pods of {name}: {getattr(error, 'reason', error)}") from None
    pods: list[Json] = cluster.api.sanitize_for_serialization(found)["items"]  # type: ignore[no-untyped-call]
    if not pods:
        raise CliError(f"{name} has no pod (suspended, or not started yet: see `metaferry status {name}`)")
    pods.sort(key=lambda p: ((p.get("status") or {}).get("phase") == "Running", p["metadata"]["creationTimestamp"]))
    return str(pods[-1]["metadata"]["name"])


def _log_lines(cluster: Cluster, pod: str, args: argparse.Namespace) -> Iterator[str]:
    arguments: dict[str, Any] = {"container": naming.CONTAINER_NAME, "previous": args.previous or None}
    if args.tail >= 0:
        arguments["tail_lines"] = args.tail
    core = client.CoreV1Api(cluster.api)
    try:
        if not args.follow:
            text = core.read_namespaced_pod_log(pod, cluster.namespace, **arguments, _request_timeout=60)
            yield from str(text).splitlines()
            return
        response: Any = core.read_namespaced_pod_log(
            pod, cluster.namespace, follow=True, **arguments, _preload_content=False
        )
        try:
            yield from _stream_lines(response.stream(4096))
        finally:
            response.release_conn()
    except ApiException as error:
        detail = _detail(error)
        raise CliError(f"cannot read the log of pod {pod}: {error.status} {error.reason}{detail}") from None
    except HTTPError as error:
        raise CliError(f"cannot read the log of pod {pod}: {error}") from None


def _stream_lines(chunks: Iterable[bytes]) -> Iterator[str]:
    pending = b""
    for chunk in chunks:
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            yield line.decode("utf-8", errors="replace")
    if pending:
        yield pending.decode("utf-8", errors="replace")


def _detail(error: ApiException) -> str:
    try:
        message = json.loads(error.body or "{}").get("message")
    except ValueError:
        message = None
    return f": {message}" if message else ""


def parse_line(line: str) -> Json:
    """An audit record, a log record, or `{"text": line}` for anything else."""
    try:
        parsed = json.loads(line)
    except ValueError:
        return {"text": line}
    return parsed if isinstance(parsed, dict) else {"text": line}


def _wanted(record: Json, args: argparse.Namespace) -> bool:
    audit = "messageId" in record
    if args.severity:
        return audit and record.get("severity") in args.severity
    return audit or args.all or "level" not in record


def format_record(record: Json, out: Output) -> str:
    """`time  Severity  MESSAGE-ID  text`, as Egeria prints an audit log; log records `time  LEVEL  logger: ...`."""
    if "messageId" in record:
        severity = str(record.get("severity", ""))
        painted = (
            out.paint(f"{severity:<11}", SEVERITY_COLOURS[severity])
            if severity in SEVERITY_COLOURS
            else f"{severity:<11}"
        )
        line = f"{record.get('time', '')}  {painted}  {record['messageId']}  {record.get('text', '')}"
        if record.get("exceptionClass"):
            line += f"\n    {record['exceptionClass']}: {record.get('exceptionMessage', '')}"
        return line
    if "level" in record:
        level = str(record["level"])
        painted = out.paint(f"{level:<11}", LEVEL_COLOURS[level]) if level in LEVEL_COLOURS else f"{level:<11}"
        line = f"{record.get('time', '')}  {painted}  {record.get('logger', '')}: {record.get('message', '')}"
        return line + (f"\n{record['exception']}" if record.get("exception") else "")
    return str(record.get("text", ""))
