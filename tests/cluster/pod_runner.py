"""A kubelet for the test control plane: one Node whose pods run as local processes.

The runner registers a Node, keeps its Lease and Ready condition fresh (otherwise the node
lifecycle controller would mark it unreachable and evict its pods), binds pending pods to it through
the ``binding`` subresource (there is no scheduler), and gives each bound pod a :class:`PodWorker`
thread. A worker prepares the pod (a 127.0.0.0/8 address of its own, volume files, a service-account
token bound to the pod), runs init containers then containers as processes (see ``pod_process``),
probes them, restarts them per ``restartPolicy`` with back-off, and reports status as a kubelet
does. When the pod gets a deletionTimestamp the worker sends SIGTERM, waits the grace period, sends
SIGKILL and removes the pod.

The container ``image`` is ignored: every pod runs the code installed in this virtualenv, whose bin
directory comes first on the pods' PATH. All pods share the host's network namespace; each gets a
distinct pod IP, also passed as ``METAFERRY_LISTEN_HOST`` so metaferry's servers bind to it.

``mode="fake"`` starts nothing: bound pods are reported Running and Ready at once, for scale
benchmarks. Pods pinned to a node with ``nodeSelector: {kubernetes.io/hostname: NAME}`` are bound
only by the runner of that node, so a fake runner and a real one can share a cluster.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from tests.cluster import pod_process, pod_spec
from tests.cluster.cluster_dns import ClusterDns
from tests.cluster.kubelet_server import KubeletServer
from tests.cluster.node_agent import HOSTNAME_LABEL, NodeAgent
from tests.cluster.pod_worker import HOST_IP, PodWorker, now_rfc3339

logger = logging.getLogger(__name__)
Json = dict[str, Any]

#: Programs that images provide and pods call by name: the PostgreSQL image's entrypoint (a stand-in).
IMAGE_BIN = Path(__file__).resolve().parent / "image-bin"


def postgresql_bin_dir() -> Path | None:
    """The host's PostgreSQL server binaries (Debian: /usr/lib/postgresql/N/bin), as the image has on PATH."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parts[-3]))
    return found[-1].parent if found else None


def _raw(response: Any) -> Json:
    data: Json = json.loads(response.data)
    return data


class ApiSources:
    """:class:`pod_spec.Sources` read from the API server."""

    def __init__(self, core: client.CoreV1Api, claims_dir: Path) -> None:
        self._core = core
        self._claims_dir = claims_dir

    def claim_dir(self, namespace: str, name: str) -> Path | None:
        """A PersistentVolumeClaim's volume: a directory per claim (by uid) that outlives its pods, as a
        provisioned volume does; a claim deleted and made again gets a fresh, empty one."""
        try:
            claim = self._core.read_namespaced_persistent_volume_claim(name, namespace)
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        path: Path = self._claims_dir / namespace / name / claim.metadata.uid
        path.mkdir(parents=True, exist_ok=True)
        return path

    def config_map(self, namespace: str, name: str) -> dict[str, bytes] | None:
        try:
            found = self._core.read_namespaced_config_map(name, namespace)
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        data = {key: value.encode() for key, value in (found.data or {}).items()}
        return data | pod_spec.decode_secret(found.binary_data)

    def secret(self, namespace: str, name: str) -> dict[str, bytes] | None:
        try:
            found = self._core.read_namespaced_secret(name, namespace)
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        return pod_spec.decode_secret(found.data)

    def service_account_token(self, pod: Json, *, audience: str | None, expiration: int) -> str:
        meta = pod["metadata"]
        request = client.AuthenticationV1TokenRequest(
            spec=client.V1TokenRequestSpec(
                audiences=[audience] if audience else [],
                expiration_seconds=expiration,
                bound_object_ref=client.V1BoundObjectReference(
                    api_version="v1", kind="Pod", name=meta["name"], uid=meta["uid"]
                ),
            )
        )
        account = pod["spec"].get("serviceAccountName") or "default"
        try:
            issued = self._core.create_namespaced_service_account_token(account, meta["namespace"], request)
        except ApiException as error:
            if error.status == 404:
                raise pod_spec.NotReady(f"service account {account!r} not found") from error
            raise
        if issued.status is None or not issued.status.token:
            raise RuntimeError(f"TokenRequest for {account!r} returned no token")
        token: str = issued.status.token
        return token


@dataclass(frozen=True)
class KubeletTls:
    """The kubelet endpoint's serving certificate, and the CA whose client certificates it accepts."""

    cert: Path
    key: Path
    ca: Path


class PodRunner:
    """The node agent. :meth:`start` it, :meth:`stop` it; pods are found through a watch."""

    def __init__(
        self,
        api_client: client.ApiClient,
        *,
        work_dir: Path,
        mode: Literal["real", "fake"] = "real",
        node_name: str = "metaferry-test-node",
        bind_unselected: bool = True,
        backoff_initial: float = 1.0,
        backoff_max: float = 30.0,
        kubelet_tls: KubeletTls | None = None,
    ) -> None:
        self.api_client = api_client
        self.core = client.CoreV1Api(api_client)
        self.sources = ApiSources(self.core, work_dir / "claims")
        self.work_dir = work_dir
        self.hosts_file = work_dir / "hosts"
        self._sticky_ips: dict[tuple[str, str], str] = {}
        self.dns: ClusterDns | None = None
        self.log_dir = work_dir / "logs"
        self.mode = mode
        self.node_name = node_name
        self.bind_unselected = bind_unselected
        self.backoff_initial, self.backoff_max = backoff_initial, backoff_max
        self.stopping = threading.Event()
        self._workers: dict[str, PodWorker] = {}
        self._fake_ips: dict[str, str] = {}
        self._next_ip = 0
        self._ip_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.created_paths: list[Path] = []  # mount points made on the host, removed at stop()
        server = urllib.parse.urlsplit(api_client.configuration.host)
        self.api_host, self.api_port = server.hostname or HOST_IP, server.port or 443
        self._ip_base = 1 if mode == "real" else 128  # keep a fake node's addresses apart from a real one's
        self.kubelet: KubeletServer | None = None
        if kubelet_tls is not None and mode == "real":
            self.kubelet = KubeletServer(
                log_path=self.log_path,
                running=self.container_running,
                cert=kubelet_tls.cert,
                key=kubelet_tls.key,
                ca=kubelet_tls.ca,
            )

    # -- public -------------------------------------------------------------------------------------------

    def start(self) -> None:
        if self.mode == "real" and not pod_process.mount_namespaces_work():
            raise RuntimeError("the pod runner needs to create mount namespaces (run the tests as root)")
        self.work_dir.mkdir(parents=True, exist_ok=True)
        if self.kubelet is not None:
            self.kubelet.start()
        node = NodeAgent(
            self.api_client,
            node_name=self.node_name,
            runtime=f"metaferry-{self.mode}://0",
            stopping=self.stopping,
            kubelet_port=self.kubelet.port if self.kubelet is not None else None,
        )
        node.register()
        loops = [(node.heartbeat_loop, "heartbeat"), (self._watch_loop, "watch")]
        if self.mode == "real":
            self.dns = ClusterDns(self.core, self.hosts_file, self.stopping)
            loops.append((self.dns.loop, "dns"))
        for target, name in loops:
            thread = threading.Thread(target=target, name=f"pod-runner-{self.node_name}-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Stop every pod's processes (SIGTERM, then SIGKILL after 2s) and the runner's threads."""
        self.stopping.set()
        for worker in list(self._workers.values()):
            worker.gone()
        for worker in list(self._workers.values()):
            worker.join(timeout=10)
        for thread in self._threads:
            thread.join(timeout=1)
        if self.kubelet is not None:
            self.kubelet.stop()
        pod_process.remove_if_empty(self.created_paths)

    def log_path(self, namespace: str, pod: str, container: str | None = None) -> Path:
        directory = self.log_dir / namespace / pod
        if container is None:
            found = sorted(directory.glob("*.log"))
            if len(found) != 1:
                raise ValueError(f"pod {namespace}/{pod} has logs for {[p.stem for p in found]}: name a container")
            return found[0]
        return directory / f"{container}.log"

    def container_running(self, namespace: str, pod: str) -> bool:
        """Whether a container of that pod runs now (a follow of its log ends when none does)."""
        workers = [w for w in list(self._workers.values()) if (w.namespace, w.pod_name) == (namespace, pod)]
        return any(run.running for worker in workers for run in worker.containers)

    def logs(self, namespace: str, pod: str, container: str | None = None) -> str:
        """What the container wrote to stdout and stderr, across restarts (like ``kubectl logs``)."""
        try:
            return self.log_path(namespace, pod, container).read_text(errors="replace")
        except (FileNotFoundError, ValueError):
            return ""

    def allocate_ip(self) -> str:
        with self._ip_lock:
            return self._allocate_locked()

    def _allocate_locked(self) -> str:
        n = self._next_ip
        self._next_ip += 1
        return f"127.0.{self._ip_base + n // 254}.{1 + n % 254}"

    def pod_ip_for(self, pod: Json) -> str:
        """A new address, except that a StatefulSet's pod keeps its address when it is replaced (its stable
        network identity: what the other pods' view of its Service name relies on between refreshes)."""
        meta = pod["metadata"]
        if not any(ref.get("kind") == "StatefulSet" for ref in meta.get("ownerReferences") or []):
            return self.allocate_ip()
        with self._ip_lock:
            key = (meta["namespace"], meta["name"])
            if key not in self._sticky_ips:
                self._sticky_ips[key] = self._allocate_locked()
            return self._sticky_ips[key]

    def service_address(self, namespace: str, name: str) -> str | None:
        """The pod address a Service's name resolves to in the pods (the cluster DNS stand-in), or None."""
        return None if self.dns is None else self.dns.addresses.get((namespace, name))

    def base_env(self, pod: Json, pod_ip: str) -> dict[str, str]:
        """What every container gets before its own env: venv first on PATH, the in-cluster API address."""
        host_path = os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")
        image_path = [Path(sys.prefix) / "bin", IMAGE_BIN, *filter(None, [postgresql_bin_dir()])]
        env = {
            "PATH": os.pathsep.join([*map(str, image_path), host_path]),
            "HOME": os.environ.get("HOME", "/root"),
            "HOSTNAME": pod["metadata"]["name"],
            "KUBERNETES_SERVICE_HOST": self.api_host,
            "KUBERNETES_SERVICE_PORT": str(self.api_port),
            "KUBERNETES_SERVICE_PORT_HTTPS": str(self.api_port),
            "KUBERNETES_PORT": f"tcp://{self.api_host}:{self.api_port}",
            "METAFERRY_LISTEN_HOST": pod_ip,
        }
        for name in ("LANG", "LC_ALL", "TZ"):
            if name in os.environ:
                env[name] = os.environ[name]
        return env

    def remove_pod(self, pod: Json) -> None:
        """Delete a terminated pod for good (what the kubelet does once its containers are gone)."""
        meta = pod["metadata"]
        options = client.V1DeleteOptions(grace_period_seconds=0, preconditions=client.V1Preconditions(uid=meta["uid"]))
        try:
            self.core.delete_namespaced_pod(meta["name"], meta["namespace"], body=options, grace_period_seconds=0)
        except ApiException as error:
            if error.status not in (404, 409):
                raise

    # -- node ---------------------------------------------------------------------------------------------

    # -- pods ---------------------------------------------------------------------------------------------

    def _watch_loop(self) -> None:
        """List, then watch from the list's resourceVersion; on any error or expiry list again (resync)."""
        while not self.stopping.is_set():
            try:
                listing = _raw(self.core.list_pod_for_all_namespaces(_preload_content=False))
                present = set()
                for pod in listing["items"]:
                    present.add(pod["metadata"]["uid"])
                    self._handle(pod, deleted=False)
                for uid in set(self._workers) - present:
                    self._workers.pop(uid).gone()
                version = listing["metadata"]["resourceVersion"]
                while not self.stopping.is_set():
                    version = self._watch(version)
            except Exception as error:
                if not self.stopping.is_set():
                    logger.warning("pod runner %s: resyncing after %r", self.node_name, error)
                    self.stopping.wait(1.0)

    def _watch(self, version: str) -> str:
        stream = watch.Watch()  # type: ignore[no-untyped-call]
        for event in stream.stream(  # type: ignore[no-untyped-call]
            self.core.list_pod_for_all_namespaces,
            resource_version=version,
            timeout_seconds=5,
            allow_watch_bookmarks=True,
        ):
            obj = event["raw_object"]
            if event["type"] == "ERROR":
                raise RuntimeError(f"watch error: {obj.get('message')}")
            version = obj["metadata"]["resourceVersion"]
            if event["type"] != "BOOKMARK":
                self._handle(obj, deleted=event["type"] == "DELETED")
            if self.stopping.is_set():
                stream.stop()  # type: ignore[no-untyped-call]
        return version

    def _handle(self, pod: Json, *, deleted: bool) -> None:
        meta, spec = pod["metadata"], pod["spec"]
        try:
            if deleted:
                worker = self._workers.pop(meta["uid"], None)
                if worker is not None:
                    worker.gone()
                return
            node = spec.get("nodeName")
            if not node:
                if self._should_bind(pod):
                    self._bind(pod)
                return
            if node != self.node_name:
                return
            if self.mode == "fake":
                self._fake(pod)
                return
            worker = self._workers.get(meta["uid"])
            if worker is not None:
                worker.update(pod)
            elif meta.get("deletionTimestamp") or pod.get("status", {}).get("phase") in (
                "Succeeded",
                "Failed",
            ):
                if meta.get("deletionTimestamp"):
                    self.remove_pod(pod)
            else:
                worker = self._workers[meta["uid"]] = PodWorker(self, pod)
                worker.start()
        except Exception:
            logger.exception("pod %s/%s: handling failed", meta.get("namespace"), meta.get("name"))

    def _should_bind(self, pod: Json) -> bool:
        spec = pod["spec"]
        if (
            pod["metadata"].get("deletionTimestamp")
            or spec.get("schedulerName", "default-scheduler") != "default-scheduler"
        ):
            return False
        wanted = (spec.get("nodeSelector") or {}).get(HOSTNAME_LABEL)
        return wanted == self.node_name if wanted else self.bind_unselected

    def _bind(self, pod: Json) -> None:
        meta = pod["metadata"]
        binding = client.V1Binding(
            metadata=client.V1ObjectMeta(name=meta["name"], uid=meta["uid"]),
            target=client.V1ObjectReference(api_version="v1", kind="Node", name=self.node_name),
        )
        try:  # the generated client cannot parse the Binding it gets back, hence _preload_content=False
            self.core.create_namespaced_pod_binding(meta["name"], meta["namespace"], binding, _preload_content=False)
        except ApiException as error:
            if error.status not in (404, 409):
                raise

    def _fake(self, pod: Json) -> None:
        meta = pod["metadata"]
        if meta.get("deletionTimestamp"):
            self._fake_ips.pop(meta["uid"], None)
            self.remove_pod(pod)
            return
        if meta["uid"] in self._fake_ips:
            return
        ip = self._fake_ips[meta["uid"]] = self.allocate_ip()
        now = now_rfc3339()
        statuses = [
            {
                "name": c["name"],
                "image": c.get("image", ""),
                "imageID": "",
                "containerID": f"fake://{ip}",
                "ready": True,
                "started": True,
                "restartCount": 0,
                "state": {"running": {"startedAt": now}},
            }
            for c in pod["spec"]["containers"]
        ]
        conditions = [
            {"type": kind, "status": "True", "lastTransitionTime": now}
            for kind in ("PodReadyToStartContainers", "Initialized", "ContainersReady", "Ready")
        ]
        status = {
            "phase": "Running",
            "hostIP": HOST_IP,
            "hostIPs": [{"ip": HOST_IP}],
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "startTime": now,
            "conditions": conditions,
            "containerStatuses": statuses,
        }
        self.core.patch_namespaced_pod_status(meta["name"], meta["namespace"], {"status": status})
