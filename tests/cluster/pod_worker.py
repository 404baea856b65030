"""A kubelet's pod worker: one thread per bound pod, running its containers as local processes.

The worker prepares the pod (a 127.0.0.0/8 address of its own, volume files, service-account tokens
bound to the pod), runs the init containers one by one and then the containers (``pod_process``),
probes them (``probes``), restarts them per ``restartPolicy`` with exponential back-off, and patches
the pod's status whenever what a kubelet would report changes. When the pod gets a
deletionTimestamp it sends SIGTERM, waits the grace period, sends SIGKILL and removes the pod.
"""

from __future__ import annotations

import datetime
import logging
import subprocess
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kubernetes.client.exceptions import ApiException

from tests.cluster import cluster_dns, pod_process, pod_spec, probes

if TYPE_CHECKING:
    from tests.cluster.pod_runner import PodRunner

logger = logging.getLogger(__name__)
Json = dict[str, Any]
HOST_IP = "127.0.0.1"


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ContainerRun:
    """One container of a pod: its process, restarts, probes, and its status as a kubelet reports it."""

    def __init__(self, spec: Json, *, log_path: Path, backoff: float) -> None:
        self.spec = spec
        self.name: str = spec["name"]
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at: str | None = None
        self.started_monotonic = 0.0
        self.restart_count = 0
        self.terminated: Json | None = None
        self.last_terminated: Json | None = None
        self.waiting_reason, self.waiting_message = "ContainerCreating", ""
        self.next_start = 0.0
        self.backoff = backoff
        self.done = False  # terminated and will not be restarted
        self.readiness: probes.ProbeState | None = None
        self.liveness: probes.ProbeState | None = None
        self.env: dict[str, str] = {}
        #: The host file bound at the container's terminationMessagePath; None until the first start.
        self.termination_log: Path | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.terminated is None

    @property
    def ready(self) -> bool:
        return self.running and (self.readiness is None or self.readiness.healthy)

    def started(self, process: subprocess.Popen[bytes], env: dict[str, str]) -> None:
        if self.terminated is not None:
            self.restart_count += 1
            self.last_terminated, self.terminated = self.terminated, None
        self.process, self.env = process, env
        self.started_at, self.started_monotonic = now_rfc3339(), time.monotonic()
        self.readiness = self._probe("readinessProbe", healthy=False)
        self.liveness = self._probe("livenessProbe", healthy=True)

    def _probe(self, field: str, *, healthy: bool) -> probes.ProbeState | None:
        spec = self.spec.get(field)
        return probes.ProbeState(spec=spec, started=self.started_monotonic, healthy=healthy) if spec else None

    def reap(self) -> int | None:
        """The exit code if the process has just exited (recorded as the terminated state), else None."""
        if not self.running or self.process is None or self.process.poll() is None:
            return None
        code = pod_process.exit_code(self.process.returncode)
        self.terminated = {
            "exitCode": code,
            "reason": "Completed" if code == 0 else "Error",
            "startedAt": self.started_at,
            "finishedAt": now_rfc3339(),
            "containerID": self.container_id,
        }
        message = self._termination_message(code)
        if message:
            self.terminated["message"] = message
        return code

    def _termination_message(self, code: int) -> str:
        """What the kubelet reports: the terminationMessagePath file (at most 4096 bytes), or with
        FallbackToLogsOnError and an empty file after a failure, the log's last 80 lines (at most 2048 bytes)."""
        written = (
            self.termination_log.read_bytes()[:4096] if self.termination_log and self.termination_log.exists() else b""
        )
        if not written and code != 0 and self.spec.get("terminationMessagePolicy") == "FallbackToLogsOnError":
            lines = self.log_path.read_bytes().splitlines()[-80:] if self.log_path.exists() else []
            written = b"\n".join(lines)[-2048:]
        return written.decode("utf-8", errors="replace")

    @property
    def container_id(self) -> str:
        pid = self.process.pid if self.process else 0
        return f"metaferry://{pid}"

    def status(self) -> Json:
        state: Json = {"waiting": None, "running": None, "terminated": None}
        if self.running:
            state["running"] = {"startedAt": self.started_at}
        elif self.terminated is not None and self.done:
            state["terminated"] = self.terminated
        else:
            state["waiting"] = {"reason": self.waiting_reason, "message": self.waiting_message or None}
        last = self.terminated if (self.terminated is not None and not self.done) else self.last_terminated
        return {
            "name": self.name,
            "image": self.spec.get("image", ""),
            "imageID": "",
            "containerID": self.container_id if self.process else None,
            "ready": self.ready,
            "started": self.running,
            "restartCount": self.restart_count,
            "state": state,
            "lastState": {"terminated": last, "waiting": None, "running": None},
        }


class PodWorker(threading.Thread):
    """Runs one bound pod until it is deleted, like a kubelet's pod worker."""

    def __init__(self, runner: PodRunner, pod: Json) -> None:
        meta = pod["metadata"]
        super().__init__(name=f"pod-{meta['namespace']}/{meta['name']}", daemon=True)
        self.runner = runner
        self.uid: str = meta["uid"]
        self.namespace, self.pod_name = meta["namespace"], meta["name"]
        self._pod = pod
        self._gone = False
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self.pod_ip = runner.pod_ip_for(pod)
        self.addresses = pod_spec.PodAddresses(pod_ip=self.pod_ip, host_ip=HOST_IP)
        self.dir = runner.work_dir / "pods" / self.uid
        logs = runner.log_dir / self.namespace / self.pod_name
        backoff = runner.backoff_initial
        self.init = [
            ContainerRun(c, log_path=logs / f"{c['name']}.log", backoff=backoff)
            for c in pod["spec"].get("initContainers") or []
        ]
        self.containers = [
            ContainerRun(c, log_path=logs / f"{c['name']}.log", backoff=backoff) for c in pod["spec"]["containers"]
        ]
        self.volumes: dict[str, Path] | None = None
        self.prepared_at: str | None = None
        self.start_time = now_rfc3339()
        self.init_failed = False
        self._published: Json | None = None
        self._transitions: dict[str, tuple[str, str]] = {}

    def update(self, pod: Json) -> None:
        with self._lock:
            self._pod = pod
        self._wake.set()

    def gone(self) -> None:
        self._gone = True
        self._wake.set()

    def run(self) -> None:
        try:
            self._loop()
        except Exception:
            logger.exception("pod %s/%s: worker failed", self.namespace, self.pod_name)
        finally:
            self._stop_processes(grace=0)

    def _loop(self) -> None:
        while True:
            with self._lock:
                pod = self._pod
            if self._gone or self.runner.stopping.is_set():
                self._stop_processes(grace=2 if self.runner.stopping.is_set() else 0)
                return
            if pod["metadata"].get("deletionTimestamp"):
                self._stop_processes(grace=float(pod["metadata"].get("deletionGracePeriodSeconds") or 0))
                self.runner.remove_pod(pod)
                return
            if self.volumes is None:
                self._prepare(pod)
            if self.volumes is not None and self._step_init(pod):
                self._step_containers(pod, time.monotonic())
            self._publish()
            self._wake.wait(0.25 if self.volumes is not None else 1.0)
            self._wake.clear()

    def _prepare(self, pod: Json) -> None:
        """Write the volume files; on a missing source leave the containers ContainerCreating and retry."""
        try:
            volumes = {}
            for volume in pod["spec"].get("volumes") or []:
                volumes[volume["name"]] = pod_spec.write_volume(
                    volume=volume,
                    pod=pod,
                    target=self.dir / "volumes" / volume["name"],
                    addresses=self.addresses,
                    sources=self.runner.sources,
                )
            self.volumes, self.prepared_at = volumes, now_rfc3339()
        except (pod_spec.NotReady, pod_spec.Unsupported, ApiException) as error:
            reason = "CreateContainerConfigError" if isinstance(error, pod_spec.Unsupported) else "ContainerCreating"
            for run in self.init + self.containers:
                run.waiting_reason, run.waiting_message = reason, str(error)

    def _step_init(self, pod: Json) -> bool:
        """Run init containers one at a time; True once all have succeeded."""
        for run in self.init:
            if run.done and run.terminated and run.terminated["exitCode"] == 0:
                continue
            if self.init_failed:
                return False
            now = time.monotonic()
            if not run.running and now >= run.next_start:
                self._start(pod, run)
            code = run.reap()
            if code is not None:
                if code == 0:
                    run.done = True
                    continue
                if pod["spec"].get("restartPolicy", "Always") == "Never":
                    run.done = self.init_failed = True
                else:
                    self._schedule_restart(run, now)
            return False
        return True

    def _step_containers(self, pod: Json, now: float) -> None:
        policy = pod["spec"].get("restartPolicy", "Always")
        for run in self.containers:
            if run.done:
                continue
            if not run.running and now >= run.next_start:
                self._start(pod, run)
            code = run.reap()
            if code is not None:
                if policy == "Always" or (policy == "OnFailure" and code != 0):
                    self._schedule_restart(run, now)
                else:
                    run.done = True
            if run.running:
                self._probe(pod, run, now)

    def _probe(self, pod: Json, run: ContainerRun, now: float) -> None:
        for state in (run.readiness, run.liveness):
            if state is not None and state.due(now):
                pid = run.process.pid if run.process else None
                state.record(probes.run(state.spec, pod_ip=self.pod_ip, container=run.spec, pid=pid, env=run.env), now)
        if run.liveness is not None and not run.liveness.healthy and run.process is not None:
            logger.info(
                "pod %s/%s: container %s failed its liveness probe; restarting it",
                self.namespace,
                self.pod_name,
                run.name,
            )
            grace = float(pod["spec"].get("terminationGracePeriodSeconds", 30))
            pod_process.stop_all([run.process], grace)

    def _schedule_restart(self, run: ContainerRun, now: float) -> None:
        ran_for = now - run.started_monotonic
        if ran_for > 2 * self.runner.backoff_max:
            run.backoff = self.runner.backoff_initial
        run.next_start = now + run.backoff
        run.backoff = min(run.backoff * 2, self.runner.backoff_max)
        run.waiting_reason, run.waiting_message = (
            "CrashLoopBackOff",
            f"back-off {run.backoff:g}s restarting failed container",
        )

    def _start(self, pod: Json, run: ContainerRun) -> None:
        spec = run.spec
        try:
            env = pod_spec.environment(
                pod=pod,
                container=spec,
                addresses=self.addresses,
                sources=self.runner.sources,
                base=self.runner.base_env(pod, self.pod_ip),
            )
            argv = [pod_spec.expand(part, env) for part in (spec.get("command") or []) + (spec.get("args") or [])]
            if not argv:
                raise pod_spec.Unsupported(
                    "the container has no command: the pod runner ignores images, "
                    "so command (or args) must name the program"
                )
            mounts = [self._mount(m) for m in spec.get("volumeMounts") or []]
            if not any(m.target == cluster_dns.HOSTS_PATH for m in mounts):  # the kubelet manages /etc/hosts
                mounts.insert(0, pod_process.Mount(self.runner.hosts_file, cluster_dns.HOSTS_PATH, read_only=True))
            mounts.append(self._termination_log(run))
            for mount in mounts:
                self.runner.created_paths.extend(pod_process.missing_paths(mount.target))
        except (pod_spec.NotReady, pod_spec.Unsupported, ApiException) as error:
            run.waiting_reason, run.waiting_message = "CreateContainerConfigError", str(error)
            run.next_start = time.monotonic() + 1.0
            return
        process = pod_process.launch(
            argv=argv,
            env=env,
            mounts=mounts,
            working_dir=spec.get("workingDir"),
            scratch=self.dir / "containers" / run.name,
            log_path=run.log_path,
        )
        run.started(process, env)
        logger.info(
            "pod %s/%s: started container %s (pid %d): %s",
            self.namespace,
            self.pod_name,
            run.name,
            process.pid,
            argv,
        )

    def _termination_log(self, run: ContainerRun) -> pod_process.Mount:
        """A fresh, empty file for each start, bound where the container writes why it ended (as a kubelet does)."""
        path = self.dir / "termination" / run.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
        path.chmod(0o666)  # the container runs as its own user
        run.termination_log = path
        target = run.spec.get("terminationMessagePath") or "/dev/termination-log"
        return pod_process.Mount(source=path, target=target, read_only=False)

    def _mount(self, mount: Json) -> pod_process.Mount:
        assert self.volumes is not None
        if mount["name"] not in self.volumes:
            raise pod_spec.Unsupported(f"volumeMount {mount['name']!r} names no volume")
        source = self.volumes[mount["name"]]
        if mount.get("subPath"):
            source = source / mount["subPath"]
            if not source.exists():
                source.mkdir(parents=True)
        return pod_process.Mount(source=source, target=mount["mountPath"], read_only=bool(mount.get("readOnly")))

    def _stop_processes(self, grace: float) -> None:
        runs = [r for r in self.init + self.containers if r.running and r.process is not None]
        pod_process.stop_all([r.process for r in runs if r.process is not None], grace)
        for run in runs:
            run.reap()

    def _phase(self) -> str:
        if self.init_failed:
            return "Failed"
        if not all(r.done for r in self.init):
            return "Pending"
        if all(r.done for r in self.containers):
            failed = any(r.terminated and r.terminated["exitCode"] != 0 for r in self.containers)
            return "Failed" if failed else "Succeeded"
        if any(r.process is not None for r in self.containers):
            return "Running"
        return "Pending"

    def _condition(self, kind: str, true: bool) -> Json:
        status = "True" if true else "False"
        previous = self._transitions.get(kind)
        if previous is None or previous[0] != status:
            self._transitions[kind] = (status, now_rfc3339())
        return {
            "type": kind,
            "status": status,
            "lastTransitionTime": self._transitions[kind][1],
            "lastProbeTime": None,
        }

    def status(self) -> Json:
        initialized = all(r.done for r in self.init)
        ready = initialized and all(r.ready for r in self.containers)
        return {
            "phase": self._phase(),
            "hostIP": HOST_IP,
            "hostIPs": [{"ip": HOST_IP}],
            "podIP": self.pod_ip,
            "podIPs": [{"ip": self.pod_ip}],
            "startTime": self.start_time,
            "conditions": [
                self._condition("PodReadyToStartContainers", self.volumes is not None),
                self._condition("Initialized", initialized),
                self._condition("ContainersReady", ready),
                self._condition("Ready", ready),
            ],
            "initContainerStatuses": [r.status() for r in self.init] or None,
            "containerStatuses": [r.status() for r in self.containers],
        }

    def _publish(self) -> None:
        status = self.status()
        if status == self._published:
            return
        try:
            self.runner.core.patch_namespaced_pod_status(self.pod_name, self.namespace, {"status": status})
            self._published = status
        except ApiException as error:
            if error.status != 404:
                logger.warning("pod %s/%s: status update failed: %s", self.namespace, self.pod_name, error.reason)
