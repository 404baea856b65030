"""Refresh latency: `metaferry.io/refresh-requested-at` set -> the refresh started inside the runtime, and
the refresh ended -> its result in `status.lastRequestedRefresh`.

20 live connectors (real runtime processes on the pod runner, each running the recording connector of
the operator's tests, which timestamps the start of every refresh). Each round annotates every
connector once; the start latency is the connector's timestamp minus the moment the annotation was
written; the completion latency is the moment a watch sees the request's result minus the refresh's
`finishedAt` (the operator's status poll is 10 minutes here, so only the request watch can report it).
Floor, measured in the same run: a bare watch on IntegrationConnectors seeing the same annotation
(the least any controller must wait before it can act, and the least any reader waits for a status).

    python benchmarks/operator_refresh_latency.py [--connectors 20] [--rounds 10] [--refresh-seconds 2]
"""

from __future__ import annotations

import argparse
import json
import shutil
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import _operator_common as common  # first: puts the repository on sys.path
from kubernetes import client, watch

REFRESH = "metaferry.io/refresh-requested-at"


def _spec(data: Path, refresh_seconds: float) -> dict[str, Any]:
    return {
        "connector": "tests.operator.sample_connector:RecordingConnector",
        "connection": {"endpoint": str(data), "configurationProperties": {"refreshDelay": refresh_seconds}},
        "pod": {"env": [{"name": "PYTHONPATH", "value": str(common.REPOSITORY)}]},
    }


class WatchFloor(threading.Thread):
    """Records when a plain watch sees each annotation value."""

    def __init__(self, api: client.ApiClient, namespace: str) -> None:
        super().__init__(daemon=True)
        self.custom = client.CustomObjectsApi(api)
        self.namespace = namespace
        self.seen: dict[tuple[str, str], float] = {}
        self.results: dict[tuple[str, str], tuple[float, str]] = {}  # -> (seen at, the refresh's finishedAt)
        self.stream = watch.Watch()

    def run(self) -> None:
        try:
            self._watch()
        except Exception:  # the API server stops at the end of the run; the floor is measured by then
            return

    def _watch(self) -> None:
        for event in self.stream.stream(
            self.custom.list_namespaced_custom_object,
            "metaferry.io",
            "v1alpha1",
            self.namespace,
            "integrationconnectors",
        ):
            obj = event["object"]
            token = (obj["metadata"].get("annotations") or {}).get(REFRESH)
            if token:
                self.seen.setdefault((obj["metadata"]["name"], token), time.time())
            requested = (obj.get("status") or {}).get("lastRequestedRefresh") or {}
            if requested.get("result") and requested.get("finishedAt"):
                key = (obj["metadata"]["name"], requested["requestedAt"])
                self.results.setdefault(key, (time.time(), requested["finishedAt"]))


def _lines(data: Path) -> list[dict[str, Any]]:
    path = data / "refreshes.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connectors", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument(
        "--refresh-seconds",
        type=float,
        default=2.0,
        help="how long each refresh takes (longer than a pass, so its end is reported by the request watch)",
    )
    args = parser.parse_args()
    root = Path("/var/tmp/metaferry-bench-refresh")  # outside /tmp: pods mount an emptyDir there
    shutil.rmtree(root, ignore_errors=True)
    names = [f"c{index:02d}" for index in range(args.connectors)]
    with common.cluster(mode="real") as (plane, api, _runner):
        common.create_namespace(api, "bench")
        operator = common.Operator(
            plane,
            namespace="bench",
            log=Path(plane.workdir) / "operator.log",
            METAFERRY_STATUS_POLL_INTERVAL="600",
        )
        try:
            custom = client.CustomObjectsApi(api)
            for name in names:
                (root / name).mkdir(parents=True)
                custom.create_namespaced_custom_object(
                    "metaferry.io",
                    "v1alpha1",
                    "bench",
                    "integrationconnectors",
                    common.manifest(name, "bench", **_spec(root / name, args.refresh_seconds)),
                )

            def ready(name: str) -> bool:
                status = (
                    custom.get_namespaced_custom_object(
                        "metaferry.io", "v1alpha1", "bench", "integrationconnectors", name
                    ).get("status")
                    or {}
                )
                return any(c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions", []))

            common.wait_for(lambda: all(ready(name) for name in names), timeout=600, what="all connectors Ready")
            floor = WatchFloor(api, "bench")
            floor.start()
            operator_latency: list[float] = []
            watch_latency: list[float] = []
            completion_latency: list[float] = []
            for round_number in range(args.rounds):
                sent: dict[str, float] = {}
                before = {name: len(_lines(root / name)) for name in names}
                for name in names:
                    token = f"round-{round_number}"
                    sent[name] = time.time()
                    custom.patch_namespaced_custom_object(
                        "metaferry.io",
                        "v1alpha1",
                        "bench",
                        "integrationconnectors",
                        name,
                        {"metadata": {"annotations": {REFRESH: token}}},
                    )
                common.wait_for(
                    lambda b=before: all(len(_lines(root / n)) > b[n] for n in names),
                    timeout=120,
                    what=f"round {round_number} refreshed",
                )
                for name in names:
                    started = _lines(root / name)[before[name]]["time"]
                    operator_latency.append(started - sent[name])
                    seen = common.wait_for(
                        lambda n=name, r=round_number: floor.seen.get((n, f"round-{r}")),
                        timeout=30,
                        what="the watch event",
                    )
                    watch_latency.append(seen - sent[name])
                    result_seen, finished = common.wait_for(
                        lambda n=name, r=round_number: floor.results.get((n, f"round-{r}")),
                        timeout=60,
                        what="the request's result in status",
                    )
                    completion_latency.append(result_seen - datetime.fromisoformat(finished).timestamp())
            floor.stream.stop()
        finally:
            operator.stop()
    headers = ("what", "samples", "p50 (ms)", "p99 (ms)", "p50 ratio to floor", "p99 ratio to floor")
    rows: list[tuple[str, ...]] = []
    floor_p50 = common.percentile(watch_latency, 0.5)
    floor_p99 = common.percentile(watch_latency, 0.99)
    for label, values in (
        ("floor: bare watch sees the annotation", watch_latency),
        ("operator: annotation -> refresh started in the runtime", operator_latency),
        ("operator: refresh ended -> result seen in status", completion_latency),
    ):
        p50, p99 = common.percentile(values, 0.5), common.percentile(values, 0.99)
        rows.append(
            (
                label,
                str(len(values)),
                f"{1000 * p50:.0f}",
                f"{1000 * p99:.0f}",
                f"{p50 / floor_p50:.1f}",
                f"{p99 / floor_p99:.1f}",
            )
        )
    print(common.table(headers, rows))
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
