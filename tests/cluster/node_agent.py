"""The Node object of a pod runner and the heartbeat a kubelet keeps up for it.

Without a renewed Lease in ``kube-node-lease`` and a fresh Ready condition, the controller
manager's node lifecycle controller would mark the node unreachable and evict its pods.
"""

from __future__ import annotations

import datetime
import logging
import os
import platform
import threading
import uuid
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.cluster.pod_worker import HOST_IP, now_rfc3339

logger = logging.getLogger(__name__)
Json = dict[str, Any]
HOSTNAME_LABEL = "kubernetes.io/hostname"
LEASE_SECONDS = 40
HEARTBEAT_SECONDS = 10.0


def _micro_now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class NodeAgent:
    """Registers one Node and keeps it alive until ``stopping`` is set."""

    def __init__(
        self,
        api_client: client.ApiClient,
        *,
        node_name: str,
        runtime: str,
        stopping: threading.Event,
        kubelet_port: int | None = None,
    ) -> None:
        self.api_client = api_client
        self.core = client.CoreV1Api(api_client)
        self.node_name = node_name
        self.runtime = runtime
        self.stopping = stopping
        self._node_uid: str | None = None
        self.kubelet_port = kubelet_port

    def _status(self) -> Json:
        now = now_rfc3339()
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        capacity = {
            "cpu": str(os.cpu_count() or 1),
            "memory": str(memory),
            "pods": "1000",
            "ephemeral-storage": "100Gi",
        }
        conditions = [
            ("Ready", "True", "KubeletReady"),
            ("MemoryPressure", "False", "KubeletHasSufficientMemory"),
            ("DiskPressure", "False", "KubeletHasNoDiskPressure"),
            ("PIDPressure", "False", "KubeletHasSufficientPID"),
        ]
        version = client.VersionApi(self.api_client).get_code().git_version
        return {
            "conditions": [
                {
                    "type": kind,
                    "status": status,
                    "reason": reason,
                    "message": "metaferry test pod runner",
                    "lastHeartbeatTime": now,
                }
                for kind, status, reason in conditions
            ],
            "addresses": [
                {"type": "InternalIP", "address": HOST_IP},
                {"type": "Hostname", "address": self.node_name},
            ],
            "capacity": capacity,
            "allocatable": capacity,
            # Where the API server calls for pods/log (0: no endpoint, as a fake node has none).
            "daemonEndpoints": {"kubeletEndpoint": {"Port": self.kubelet_port or 0}},
            "nodeInfo": {
                "machineID": uuid.uuid4().hex,
                "systemUUID": str(uuid.uuid4()),
                "bootID": str(uuid.uuid4()),
                "kernelVersion": platform.release(),
                "osImage": "metaferry test pod runner",
                "containerRuntimeVersion": self.runtime,
                "kubeletVersion": version,
                "kubeProxyVersion": "",
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
        }

    def register(self) -> None:
        labels = {HOSTNAME_LABEL: self.node_name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}
        node = client.V1Node(metadata=client.V1ObjectMeta(name=self.node_name, labels=labels))
        try:
            self.core.create_node(node)
        except ApiException as error:
            if error.status != 409:  # 409: registered by an earlier runner of this cluster
                raise
        self.core.patch_node_status(self.node_name, {"status": self._status()})
        metadata = self.core.read_node(self.node_name).metadata
        self._node_uid = metadata.uid if metadata else None
        self._renew_lease()

    def _renew_lease(self) -> None:
        leases = client.CoordinationV1Api(self.api_client)
        spec = {
            "holderIdentity": self.node_name,
            "leaseDurationSeconds": LEASE_SECONDS,
            "renewTime": _micro_now(),
        }
        try:
            leases.patch_namespaced_lease(self.node_name, "kube-node-lease", {"spec": spec})
        except ApiException as error:
            if error.status != 404:
                raise
            owner = client.V1OwnerReference(
                api_version="v1", kind="Node", name=self.node_name, uid=self._node_uid or ""
            )
            lease = client.V1Lease(
                metadata=client.V1ObjectMeta(name=self.node_name, owner_references=[owner]), spec=spec
            )
            leases.create_namespaced_lease("kube-node-lease", lease)

    def heartbeat_loop(self) -> None:
        while not self.stopping.wait(HEARTBEAT_SECONDS):
            try:
                self._renew_lease()
                self.core.patch_node_status(self.node_name, {"status": {"conditions": self._status()["conditions"]}})
            except Exception:
                logger.exception("node %s: heartbeat failed", self.node_name)
