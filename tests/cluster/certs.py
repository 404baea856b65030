"""The test cluster's PKI, made with the ``openssl`` command line tool.

One CA signs everything: the API server's serving certificate (valid for 127.0.0.1, which is also
the address pods use to reach it, and for the in-cluster names), the client certificates that
authenticate the tests and the controller manager, and it is the ``ca.crt`` that pods receive. The
service-account signing key is a separate RSA key pair, as in a real cluster.
"""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

_DAYS = "3650"


@dataclasses.dataclass(frozen=True)
class ClientCert:
    cert: Path
    key: Path


@dataclasses.dataclass(frozen=True)
class Pki:
    ca_cert: Path
    ca_key: Path
    serving_cert: Path
    serving_key: Path
    sa_private_key: Path
    sa_public_key: Path
    admin: ClientCert
    controller_manager: ClientCert
    kubelet_client: ClientCert  # the API server's, when it calls a node's kubelet endpoint (pods/log)


def _openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)


def _signed(*, directory: Path, pki_ca: tuple[Path, Path], name: str, subject: str, extensions: str) -> ClientCert:
    key, csr, cert, ext = (directory / f"{name}.{suffix}" for suffix in ("key", "csr", "crt", "ext"))
    ext.write_text(extensions)
    _openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", subject)
    ca_cert, ca_key = pki_ca
    _openssl(
        "x509",
        "-req",
        "-in",
        csr,
        "-CA",
        ca_cert,
        "-CAkey",
        ca_key,
        "-CAcreateserial",
        "-days",
        _DAYS,
        "-sha256",
        "-out",
        cert,
        "-extfile",
        ext,
    )
    return ClientCert(cert=cert, key=key)


def create(directory: Path) -> Pki:
    """Create a CA, serving and client certificates and a service-account key pair in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_cert, ca_key = directory / "ca.crt", directory / "ca.key"
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        ca_key,
        "-out",
        ca_cert,
        "-days",
        _DAYS,
        "-subj",
        "/CN=metaferry-test-ca",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
    )
    ca = (ca_cert, ca_key)
    serving = _signed(
        directory=directory,
        pki_ca=ca,
        name="apiserver",
        subject="/CN=kube-apiserver",
        extensions="basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,"
        "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,"
        "DNS:kubernetes.default.svc.cluster.local\n",
    )
    client_ext = (
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n"
    )
    admin = _signed(
        directory=directory,
        pki_ca=ca,
        name="admin",
        subject="/O=system:masters/CN=metaferry-test-admin",
        extensions=client_ext,
    )
    kcm = _signed(
        directory=directory,
        pki_ca=ca,
        name="controller-manager",
        subject="/CN=system:kube-controller-manager",
        extensions=client_ext,
    )
    kubelet_client = _signed(
        directory=directory,
        pki_ca=ca,
        name="apiserver-kubelet-client",
        subject="/O=system:masters/CN=kube-apiserver-kubelet-client",
        extensions=client_ext,
    )
    sa_key, sa_pub = directory / "sa.key", directory / "sa.pub"
    _openssl("genrsa", "-out", sa_key, "2048")
    _openssl("rsa", "-in", sa_key, "-pubout", "-out", sa_pub)
    return Pki(
        ca_cert=ca_cert,
        ca_key=ca_key,
        serving_cert=serving.cert,
        serving_key=serving.key,
        sa_private_key=sa_key,
        sa_public_key=sa_pub,
        admin=admin,
        controller_manager=kcm,
        kubelet_client=kubelet_client,
    )
