"""Posting Kubernetes Events about a connector, so ``kubectl describe ic NAME`` tells its recent story.

Events expire (often within an hour), so they repeat what status already says durably; a failure to post
one is logged and otherwise ignored. Messages are built by the operator from masked material only
(the runtime masks secured properties at the source; the operator never reads Secret values into text).
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from typing import Any

from metaferry_operator import kube, naming
from metaferry_operator.status_rules import Event

logger = logging.getLogger(__name__)
_INSTANCE = os.environ.get("HOSTNAME", "metaferry-operator")


def event_manifest(*, connector: dict[str, Any], event: Event, now: datetime) -> dict[str, Any]:
    meta = connector["metadata"]
    stamp = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": f"{meta['name']}.", "namespace": meta["namespace"]},
        "involvedObject": {
            "apiVersion": connector["apiVersion"],
            "kind": connector["kind"],
            "name": meta["name"],
            "namespace": meta["namespace"],
            "uid": meta["uid"],
        },
        "type": event.type,
        "reason": event.reason,
        "message": event.message[:1024],
        "source": {"component": naming.MANAGED_BY},
        "reportingComponent": naming.MANAGED_BY,
        "reportingInstance": _INSTANCE,
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }


async def post(client: kube.KubeClient, *, connector: dict[str, Any], event: Event) -> None:
    manifest = event_manifest(connector=connector, event=event, now=datetime.now(UTC))
    path = kube.object_path(api_version="v1", kind="Event", namespace=connector["metadata"]["namespace"])
    try:
        await client.create(path, manifest)
    except kube.KubeError as error:  # an event is a courtesy; never fail a reconcile for it
        logger.warning("cannot post event %s for %s: %s", event.reason, connector["metadata"]["name"], error)
