"""etcd, kube-apiserver and kube-controller-manager as local processes, for the tests.

Everything binds to 127.0.0.1 on ports picked free at start, keeps its data and logs in one
directory, and is stopped by PID. The API server runs as in a production cluster (RBAC, Pod Security
Admission, service-account token signing, the default admission plugins); tests authenticate with a
``system:masters`` client certificate. The controller manager runs its default controllers with one
service-account identity per controller, so garbage collection, Deployments, namespace deletion and
the ``default`` service accounts behave as they do in a cluster. There is no scheduler and no
kubelet: :mod:`tests.cluster.pod_runner` binds and runs pods.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import yaml

from tests.cluster import certs

SERVICE_CIDR = "10.0.0.0/20"  # room for the 1,000-connector benchmark: one Service each
ISSUER = "https://kubernetes.default.svc.cluster.local"
START_TIMEOUT = 120.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclasses.dataclass
class Component:
    """One running binary, its log file, and how to stop it."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    _log: IO[bytes]

    def stop(self, timeout: float = 15.0) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()

    def tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError as error:
            return f"<cannot read {self.log_path}: {error}>"
        return "\n".join(text.splitlines()[-lines:])


def _start(*, name: str, argv: list[str], workdir: Path) -> Component:
    log_path = workdir / "logs" / f"{name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("ab")
    process = subprocess.Popen(
        argv,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd=workdir,
        start_new_session=True,
    )
    return Component(name=name, process=process, log_path=log_path, _log=log)


def write_kubeconfig(*, path: Path, server: str, ca: Path, client: certs.ClientCert, user: str) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "metaferry-test", "cluster": {"server": server, "certificate-authority": str(ca)}}],
        "users": [{"name": user, "user": {"client-certificate": str(client.cert), "client-key": str(client.key)}}],
        "contexts": [{"name": "metaferry-test", "context": {"cluster": "metaferry-test", "user": user}}],
        "current-context": "metaferry-test",
    }
    path.write_text(yaml.safe_dump(config))
    return path


class ControlPlane:
    """A started control plane. Use :func:`start`; call :meth:`stop` (idempotent) when done."""

    def __init__(self, *, bin_dir: Path, workdir: Path) -> None:
        self.bin_dir = bin_dir
        self.workdir = workdir
        self.components: list[Component] = []
        self.pki = certs.create(workdir / "pki")
        self.etcd_port, self.etcd_peer_port = free_port(), free_port()
        self.apiserver_port, self.controller_manager_port = free_port(), free_port()
        self.host = "127.0.0.1"
        self.server = f"https://{self.host}:{self.apiserver_port}"
        self.kubeconfig = write_kubeconfig(
            path=workdir / "kubeconfig",
            server=self.server,
            ca=self.pki.ca_cert,
            client=self.pki.admin,
            user="admin",
        )
        self.started_in: float | None = None

    @property
    def ca_cert(self) -> Path:
        return self.pki.ca_cert

    @property
    def env(self) -> dict[str, str]:
        """Environment for subprocesses: our kubectl and helm first on PATH, KUBECONFIG, own helm home."""
        helm_home = self.workdir / "helm"
        return {
            **os.environ,
            "PATH": f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "KUBECONFIG": str(self.kubeconfig),
            "HELM_CACHE_HOME": str(helm_home / "cache"),
            "HELM_CONFIG_HOME": str(helm_home / "config"),
            "HELM_DATA_HOME": str(helm_home / "data"),
        }

    def start(self) -> None:
        started = time.monotonic()
        deadline = started + START_TIMEOUT
        self._start_etcd()
        self._wait(deadline, "etcd", lambda: _http_ok(f"http://127.0.0.1:{self.etcd_port}/health"))
        self._start_apiserver()
        self._wait(deadline, "kube-apiserver", lambda: self._get(f"{self.server}/readyz"))
        self._start_controller_manager()
        self._wait(
            deadline,
            "kube-controller-manager",
            lambda: _http_ok(f"https://127.0.0.1:{self.controller_manager_port}/healthz", insecure=True),
        )
        self._wait(
            deadline,
            "the default service account",
            lambda: self._get(f"{self.server}/api/v1/namespaces/default/serviceaccounts/default"),
        )
        self.started_in = time.monotonic() - started

    def stop(self) -> None:
        for component in reversed(self.components):
            component.stop()
        self.components.clear()

    def restart_apiserver(self) -> None:
        """Stop kube-apiserver and start it again on the same port, over the same etcd: clients see a disconnect
        and a server that has kept every object but lost its watch cache, as after a control-plane upgrade."""
        old = next(component for component in self.components if component.name == "kube-apiserver")
        old.stop()
        self.components.remove(old)
        self._start_apiserver()
        self._wait(time.monotonic() + START_TIMEOUT, "kube-apiserver", lambda: self._get(f"{self.server}/readyz"))

    def log_tails(self, lines: int = 40) -> str:
        return "\n\n".join(f"==> {c.name} ({c.log_path}) <==\n{c.tail(lines)}" for c in self.components)

    def _start_etcd(self) -> None:
        peer = f"http://127.0.0.1:{self.etcd_peer_port}"
        client = f"http://127.0.0.1:{self.etcd_port}"
        self.components.append(
            _start(
                name="etcd",
                workdir=self.workdir,
                argv=[
                    str(self.bin_dir / "etcd"),
                    "--name=metaferry-test",
                    f"--data-dir={self.workdir / 'etcd'}",
                    f"--listen-client-urls={client}",
                    f"--advertise-client-urls={client}",
                    f"--listen-peer-urls={peer}",
                    f"--initial-advertise-peer-urls={peer}",
                    f"--initial-cluster=metaferry-test={peer}",
                    "--unsafe-no-fsync",
                    "--log-level=warn",
                ],
            )
        )

    def _start_apiserver(self) -> None:
        pki = self.pki
        self.components.append(
            _start(
                name="kube-apiserver",
                workdir=self.workdir,
                argv=[
                    str(self.bin_dir / "kube-apiserver"),
                    f"--etcd-servers=http://127.0.0.1:{self.etcd_port}",
                    f"--bind-address={self.host}",
                    f"--advertise-address={self.host}",
                    f"--secure-port={self.apiserver_port}",
                    f"--cert-dir={self.workdir / 'apiserver'}",
                    f"--tls-cert-file={pki.serving_cert}",
                    f"--tls-private-key-file={pki.serving_key}",
                    f"--client-ca-file={pki.ca_cert}",
                    "--authorization-mode=Node,RBAC",
                    f"--service-cluster-ip-range={SERVICE_CIDR}",
                    f"--service-account-issuer={ISSUER}",
                    f"--service-account-key-file={pki.sa_public_key}",
                    f"--service-account-signing-key-file={pki.sa_private_key}",
                    # The Endpoints API refuses loopback addresses, so the `kubernetes` Service gets none.
                    "--endpoint-reconciler-type=none",
                    # pods/log reaches the pod runner's kubelet endpoint at the node's InternalIP (its
                    # Hostname address names no host), over TLS both ways, as a kubelet is reached.
                    "--kubelet-preferred-address-types=InternalIP",
                    f"--kubelet-certificate-authority={pki.ca_cert}",
                    f"--kubelet-client-certificate={pki.kubelet_client.cert}",
                    f"--kubelet-client-key={pki.kubelet_client.key}",
                    "--allow-privileged=true",
                    "--profiling=false",
                    "--v=1",
                ],
            )
        )

    def _start_controller_manager(self) -> None:
        kubeconfig = write_kubeconfig(
            path=self.workdir / "controller-manager.kubeconfig",
            server=self.server,
            ca=self.pki.ca_cert,
            client=self.pki.controller_manager,
            user="system:kube-controller-manager",
        )
        self.components.append(
            _start(
                name="kube-controller-manager",
                workdir=self.workdir,
                argv=[
                    str(self.bin_dir / "kube-controller-manager"),
                    f"--kubeconfig={kubeconfig}",
                    f"--authentication-kubeconfig={kubeconfig}",
                    f"--authorization-kubeconfig={kubeconfig}",
                    f"--bind-address={self.host}",
                    f"--secure-port={self.controller_manager_port}",
                    f"--cert-dir={self.workdir / 'controller-manager'}",
                    "--leader-elect=false",
                    "--use-service-account-credentials=true",
                    f"--service-account-private-key-file={self.pki.sa_private_key}",
                    f"--root-ca-file={self.pki.ca_cert}",
                    f"--cluster-signing-cert-file={self.pki.ca_cert}",
                    f"--cluster-signing-key-file={self.pki.ca_key}",
                    "--controllers=*",
                    "--concurrent-gc-syncs=5",
                    "--profiling=false",
                    "--v=1",
                ],
            )
        )

    def _get(self, url: str) -> bool:
        context = ssl.create_default_context(cafile=str(self.pki.ca_cert))
        context.load_cert_chain(str(self.pki.admin.cert), str(self.pki.admin.key))
        return _http_ok(url, context=context)

    def _wait(self, deadline: float, what: str, ready: Callable[[], bool]) -> None:
        while not ready():
            for component in self.components:
                if component.process.poll() is not None:
                    raise RuntimeError(
                        f"{component.name} exited with {component.process.returncode}:\n{component.tail()}"
                    )
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} not ready after {START_TIMEOUT:.0f}s\n{self.log_tails()}")
            time.sleep(0.2)


def _http_ok(url: str, *, context: ssl.SSLContext | None = None, insecure: bool = False) -> bool:
    if insecure:
        context = ssl._create_unverified_context()
    try:
        with urllib.request.urlopen(url, timeout=2, context=context) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ssl.SSLError):
        return False


@contextlib.contextmanager
def running(*, bin_dir: Path, workdir: Path) -> Iterator[ControlPlane]:
    """Start a control plane in ``workdir`` and stop it on exit, whatever happened."""
    plane = ControlPlane(bin_dir=bin_dir, workdir=workdir)
    try:
        plane.start()
        yield plane
    finally:
        plane.stop()
