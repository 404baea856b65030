"""check: the runtime's step-by-step check (connection, configuration, secrets, dry-run refresh) from the terminal.

`metaferry check NAME` runs `metaferry-runtime check` in a one-off Pod made from the connector's own pod
template (image, service account, environment, repository URL and mounted Secret), so it tests what the
connector pod reaches, from where it runs. The Pod's labels do not match the connector's Deployment, so no
ReplicaSet adopts it; it is owned by the IntegrationConnector, so deleting that removes a forgotten one. The
result comes back as the container's termination message, which the kubelet puts in the Pod's status: no log
access or port-forward is needed. `metaferry check --file FILE` runs the same check here, on a manifest.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import tempfile
from pathlib import Path
from typing import Any, cast

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from metaferry_cli.cluster import Cluster
from metaferry_cli.errors import EXIT_FAILED, CliError
from metaferry_cli.output import Output
from metaferry_cli.waiting import duration_argument, wait_for
from metaferry_operator import naming
from metaferry_operator.json_types import Json

TERMINATION_LOG = "/dev/termination-log"
CHECK_COMPONENT = "check"
DEFAULT_TIMEOUT = "5m"


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add `check` to the `metaferry` parser."""
    check = commands.add_parser(
        "check", parents=[common], help="test a connector step by step, with a dry-run refresh that writes nothing"
    )
    target = check.add_mutually_exclusive_group(required=True)
    target.add_argument("name", nargs="?", help="an IntegrationConnector: checked in a Pod like its own")
    target.add_argument("--file", type=Path, metavar="FILE.yaml", help="a manifest, checked here")
    check.add_argument("--secrets-dir", metavar="DIR", help="with --file: secured properties, one file per key")
    check.add_argument(
        "--timeout", default=DEFAULT_TIMEOUT, type=duration_argument, help="for the check Pod (default 5m)"
    )
    check.add_argument("--keep", action="store_true", help="leave the check Pod for inspection")
    check.set_defaults(run=run_check)


def run_check(args: argparse.Namespace, out: Output) -> int:
    result = _check_here(args) if args.file else _check_in_cluster(args, out)
    if out.text:
        for step in result["steps"]:
            mark = out.paint("ok  ", "green") if step["ok"] else out.paint("FAIL", "red")
            out.line(f"{mark}  {step['name']:<16} {step['detail']}")
        out.line(f"check {out.result('Succeeded' if result['passed'] else 'Failed')}")
    else:
        out.document(result)
    return 0 if result["passed"] else EXIT_FAILED


# -- in the cluster -----------------------------------------------------------------------------------------


def _check_in_cluster(args: argparse.Namespace, out: Output) -> Json:
    cluster = Cluster.from_args(args)
    connector = cluster.get(args.name)
    core, apps = client.CoreV1Api(cluster.api), client.AppsV1Api(cluster.api)
    try:
        deployment = apps.read_namespaced_deployment(naming.child_name(args.name), cluster.namespace)
    except ApiException as error:
        if error.status == 404:
            raise CliError(f"{args.name} has no runtime Deployment yet: see `metaferry status {args.name}`") from None
        raise CliError(f"cannot read the Deployment of {args.name}: {error.status} {error.reason}") from None
    template = _as_json(cluster.api, deployment)["spec"]["template"]
    manifest = check_pod(connector, template, deadline=int(args.timeout))
    try:
        created = _as_json(cluster.api, core.create_namespaced_pod(cluster.namespace, cast(Any, manifest)))
    except (ApiException, HTTPError) as error:
        raise CliError(f"cannot create the check Pod: {getattr(error, 'reason', error)}") from None
    name = str(created["metadata"]["name"])
    try:
        pod = wait_for(
            lambda: _finished(core, cluster.namespace, name),
            timeout=args.timeout + 30,  # the Pod's own deadline ends it first
            out=out,
            what=f"the check Pod {name}",
        )
    finally:
        if not args.keep:
            _delete(core, cluster.namespace, name)
    return _result(pod, name)


def _as_json(api: client.ApiClient, value: object) -> Json:
    """A client model as the API's JSON (camelCase keys), which is what the rest of the CLI reads."""
    return cast(Json, api.sanitize_for_serialization(value))  # type: ignore[no-untyped-call]


def check_pod(connector: Json, template: Json, *, deadline: int) -> Json:
    """The connector's pod template running `metaferry-runtime check` once, its result in the termination message."""
    spec: Json = copy.deepcopy(template["spec"])
    runtime = next(c for c in spec["containers"] if c["name"] == naming.CONTAINER_NAME)
    manifest = f"{naming.CONNECTOR_DIR}/{naming.CONNECTOR_FILE}"
    runtime["command"] = ["metaferry-runtime", "check", manifest, "--result-file", TERMINATION_LOG]
    for field in ("args", "livenessProbe", "readinessProbe", "startupProbe", "ports"):
        runtime.pop(field, None)
    runtime["terminationMessagePath"] = TERMINATION_LOG
    runtime["terminationMessagePolicy"] = "FallbackToLogsOnError"  # a crash before the result: its last lines
    spec.update(containers=[runtime], restartPolicy="Never", activeDeadlineSeconds=deadline)
    name = connector["metadata"]["name"]
    labels = {
        naming.LABEL_NAME: naming.CHILD_NAME,
        naming.LABEL_INSTANCE: name,
        naming.LABEL_COMPONENT: CHECK_COMPONENT,
        naming.LABEL_PART_OF: "metaferry",  # the bundled repository admits metaferry's pods by this label
    }
    owner = {
        "apiVersion": connector["apiVersion"],
        "kind": connector["kind"],
        "name": name,
        "uid": connector["metadata"]["uid"],
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"generateName": f"{naming.child_name(name)}-check-", "labels": labels, "ownerReferences": [owner]},
        "spec": spec,
    }


def _finished(core: client.CoreV1Api, namespace: str, name: str) -> tuple[Json | None, str]:
    try:
        pod = _as_json(core.api_client, core.read_namespaced_pod(name, namespace))
    except (ApiException, HTTPError) as error:
        raise CliError(f"cannot read the check Pod {name}: {getattr(error, 'reason', error)}") from None
    status = pod.get("status") or {}
    phase = status.get("phase") or "Pending"
    if phase in ("Succeeded", "Failed"):
        return pod, phase
    waiting = [
        s["state"]["waiting"].get("reason")
        for s in status.get("containerStatuses") or []
        if (s.get("state") or {}).get("waiting")
    ]
    return None, f"check Pod {name}: {phase}" + (f" ({waiting[0]})" if waiting else "")


def _result(pod: Json, name: str) -> Json:
    statuses = pod.get("status", {}).get("containerStatuses") or []
    terminated = (statuses[0].get("state") or {}).get("terminated") if statuses else None
    if not terminated:
        reason = pod.get("status", {}).get("reason") or pod.get("status", {}).get("message") or "no container ran"
        raise CliError(f"the check Pod {name} ended without a result: {reason}", exit_code=EXIT_FAILED)
    message = terminated.get("message") or ""
    try:
        result = json.loads(message)
    except ValueError:
        exit_code = terminated.get("exitCode")
        raise CliError(
            f"the check in Pod {name} stopped (exit code {exit_code}) before its result:\n{message}".rstrip(),
            exit_code=EXIT_FAILED,
        ) from None
    return {"pod": name, **result}


def _delete(core: client.CoreV1Api, namespace: str, name: str) -> None:
    try:
        core.delete_namespaced_pod(name, namespace, grace_period_seconds=0)
    except ApiException as error:
        if error.status != 404:
            raise CliError(f"cannot delete the check Pod {name} (delete it by hand): {error.reason}") from None


# -- here ---------------------------------------------------------------------------------------------------


def _check_here(args: argparse.Namespace) -> Json:
    """`metaferry-runtime check FILE`, in this process; its steps are read back from the result file it writes."""
    from metaferry_runtime.cli import main as runtime_main  # the runtime's public command, not its insides

    with tempfile.TemporaryDirectory(prefix="metaferry-check-") as scratch:
        result_file = Path(scratch) / "result.json"
        argv = ["check", str(args.file), "--result-file", str(result_file)]
        if args.repository:
            argv += ["--repository", args.repository]
        if args.secrets_dir:
            argv += ["--secrets-dir", args.secrets_dir]
        with contextlib.redirect_stdout(io.StringIO()):  # it prints its own lines; ours follow -o
            code = runtime_main(argv)
        if not result_file.exists():
            raise CliError(f"the check of {args.file} stopped before its first step (exit code {code})", exit_code=code)
        return cast(Json, json.loads(result_file.read_text()))
