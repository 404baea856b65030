"""Service names for pods run by the test pod runner: a stand-in for cluster DNS, as an /etc/hosts file.

There is no DNS server and no kube-proxy in the test cluster, so a pod cannot reach a Service by its name
or its ClusterIP. The runner bind-mounts one hosts file at ``/etc/hosts`` in every container (the kubelet
manages each pod's /etc/hosts too) and keeps it current: for every Service with a selector, the names
``NAME.NAMESPACE.svc.cluster.local``, ``NAME.NAMESPACE.svc`` and ``NAME.NAMESPACE`` map to the address of
one pod it selects (a Ready one when there is one), within a second of a change. The file is rewritten in
place (same inode), so running containers see changes.

What that does not do: no short names (``NAME`` alone) and no port translation, so a Service's ``port``
must equal its pods' port (the chart's Services do); one pod per Service name.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from kubernetes import client

logger = logging.getLogger(__name__)
Json = dict[str, Any]
HOSTS_PATH = "/etc/hosts"
REFRESH_SECONDS = 1.0


def _ready(pod: Any) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])


def service_addresses(services: list[Any], pods: list[Any]) -> dict[tuple[str, str], str]:
    """(namespace, service) -> the address of a pod its selector matches: a Ready one if any (the lowest, for
    stability), else one not Ready yet, so the name resolves from the start and connections are refused until
    the pod serves, as through a Service whose pods are not ready."""
    by_namespace: dict[str, list[Any]] = {}
    for pod in pods:
        if pod.status and pod.status.pod_ip and not pod.metadata.deletion_timestamp:
            by_namespace.setdefault(pod.metadata.namespace, []).append(pod)
    found = {}
    for service in services:
        selector = service.spec.selector or {}
        if not selector:
            continue
        namespace = service.metadata.namespace
        matching = sorted(
            (not _ready(pod), pod.status.pod_ip)
            for pod in by_namespace.get(namespace, [])
            if selector.items() <= (pod.metadata.labels or {}).items()
        )
        if matching:
            found[(namespace, service.metadata.name)] = matching[0][1]
    return found


def hosts_text(base: str, addresses: dict[tuple[str, str], str]) -> str:
    lines = [base.rstrip("\n"), "# Services of the test cluster (the pod runner's stand-in for cluster DNS)"]
    for (namespace, name), ip in sorted(addresses.items()):
        lines.append(f"{ip}\t{name}.{namespace}.svc.cluster.local {name}.{namespace}.svc {name}.{namespace}")
    return "\n".join(lines) + "\n"


class ClusterDns:
    """Keeps ``path`` current with the cluster's Services; :meth:`loop` runs in a runner thread."""

    def __init__(self, core: client.CoreV1Api, path: Path, stopping: threading.Event) -> None:
        self.core, self.path, self.stopping = core, path, stopping
        self._base = Path(HOSTS_PATH).read_text() if Path(HOSTS_PATH).exists() else "127.0.0.1\tlocalhost\n"
        self.addresses: dict[tuple[str, str], str] = {}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(hosts_text(self._base, {}))

    def refresh(self) -> None:
        services = self.core.list_service_for_all_namespaces().items
        pods = self.core.list_pod_for_all_namespaces().items
        addresses = service_addresses(services, pods)
        if addresses != self.addresses:
            with self.path.open("r+") as hosts:  # in place: containers bind-mount this inode
                text = hosts_text(self._base, addresses)
                hosts.write(text)
                hosts.truncate(len(text.encode()))
            self.addresses = addresses

    def loop(self) -> None:
        while not self.stopping.is_set():
            try:
                self.refresh()
            except Exception as error:
                logger.warning("cluster DNS stand-in: cannot list services (%r)", error)
            self.stopping.wait(REFRESH_SECONDS)
