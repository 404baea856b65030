"""What a kubelet derives from a pod spec before it starts a container: environment and volume files.

Pure functions over the pod as JSON (camelCase dicts, as the API server sends it), plus a small
:class:`Sources` protocol for the objects they read (ConfigMaps, Secrets, service-account tokens),
so the rules (``$(VAR)`` expansion, envFrom before env, downward API fields, key-to-path items,
optional sources) can be read and tested apart from the process handling in ``pod_runner``.
"""

from __future__ import annotations

import base64
import dataclasses
import math
import os
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from kubernetes.utils import quantity

Json = dict[str, Any]

DEFAULT_MODE = 0o644
DEFAULT_TOKEN_EXPIRATION = 3607  # what the kubelet asks for kube-api-access volumes
_parse_quantity: Callable[[str], Decimal] = quantity.parse_quantity
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")


class NotReady(Exception):
    """A source the pod needs does not exist yet (the kubelet keeps retrying: ContainerCreating)."""


class Unsupported(Exception):
    """The pod asks for something the pod runner cannot provide."""


class Sources(Protocol):
    """Read access to what pods reference; returns None when an object does not exist."""

    def config_map(self, namespace: str, name: str) -> Mapping[str, bytes] | None: ...

    def secret(self, namespace: str, name: str) -> Mapping[str, bytes] | None: ...

    def service_account_token(self, pod: Json, *, audience: str | None, expiration: int) -> str: ...

    def claim_dir(self, namespace: str, name: str) -> Path | None: ...


@dataclasses.dataclass(frozen=True)
class PodAddresses:
    pod_ip: str
    host_ip: str


def expand(text: str, lookup: Mapping[str, str]) -> str:
    """Kubernetes' ``$(VAR)`` expansion: ``$$`` is a literal ``$``; unknown references stay as written."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == "$" and i + 1 < len(text):
            following = text[i + 1]
            if following == "$":
                out.append("$")
                i += 2
                continue
            if following == "(":
                end = text.find(")", i + 2)
                if end != -1:
                    name = text[i + 2 : end]
                    out.append(lookup.get(name, text[i : end + 1]))
                    i = end + 1
                    continue
        out.append(text[i])
        i += 1
    return "".join(out)


def field_value(pod: Json, path: str, addresses: PodAddresses) -> str:
    """The downward API's ``fieldRef.fieldPath`` values."""
    meta = pod["metadata"]
    match = re.fullmatch(r"metadata\.(labels|annotations)\['(.+)'\]", path)
    if match:
        return str((meta.get(match.group(1)) or {}).get(match.group(2), ""))
    simple: dict[str, Callable[[], str]] = {
        "metadata.name": lambda: meta["name"],
        "metadata.namespace": lambda: meta["namespace"],
        "metadata.uid": lambda: meta["uid"],
        "metadata.labels": lambda: _pairs(meta.get("labels")),
        "metadata.annotations": lambda: _pairs(meta.get("annotations")),
        "spec.nodeName": lambda: pod["spec"].get("nodeName", ""),
        "spec.serviceAccountName": lambda: pod["spec"].get("serviceAccountName", ""),
        "status.hostIP": lambda: addresses.host_ip,
        "status.hostIPs": lambda: addresses.host_ip,
        "status.podIP": lambda: addresses.pod_ip,
        "status.podIPs": lambda: addresses.pod_ip,
    }
    if path not in simple:
        raise Unsupported(f"fieldRef {path!r}")
    return simple[path]()


def _pairs(values: Mapping[str, str] | None) -> str:
    return "\n".join(f'{key}="{value}"' for key, value in sorted((values or {}).items()))


def resource_value(pod: Json, ref: Json, default_container: str | None) -> str:
    """``resourceFieldRef``: the container's limit or request, else what this machine has."""
    name = ref.get("containerName") or default_container
    container: Json = next((c for c in pod["spec"]["containers"] if c["name"] == name), {})
    kind, _, resource = ref["resource"].partition(".")
    resources = container.get("resources") or {}
    value = (resources.get(kind) or {}).get(resource) or (resources.get("limits") or {}).get(resource)
    if value is None:
        value = (
            str(os.cpu_count() or 1)
            if resource == "cpu"
            else str(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
        )
    amount = _parse_quantity(value) / _parse_quantity(ref.get("divisor") or "1")
    return str(math.ceil(amount))


def environment(
    *, pod: Json, container: Json, addresses: PodAddresses, sources: Sources, base: Mapping[str, str]
) -> dict[str, str]:
    """The container's environment as the kubelet builds it: ``base``, then envFrom, then env in order."""
    namespace = pod["metadata"]["namespace"]
    env = dict(base)
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix", "")
        ref, read = (
            (source["configMapRef"], sources.config_map)
            if "configMapRef" in source
            else (source["secretRef"], sources.secret)
        )
        data = read(namespace, ref["name"])
        if data is None:
            if ref.get("optional"):
                continue
            raise NotReady(f"envFrom {ref['name']!r} not found in {namespace}")
        for key, content in data.items():
            if _ENV_NAME.match(prefix + key):
                env[prefix + key] = content.decode()
    for var in container.get("env") or []:
        if "valueFrom" not in var:
            env[var["name"]] = expand(var.get("value", ""), env)
            continue
        resolved = _value_from(var["valueFrom"], pod=pod, container=container, addresses=addresses, sources=sources)
        if resolved is not None:
            env[var["name"]] = resolved
    return env


def _value_from(
    value_from: Json, *, pod: Json, container: Json, addresses: PodAddresses, sources: Sources
) -> str | None:
    namespace = pod["metadata"]["namespace"]
    if "fieldRef" in value_from:
        return field_value(pod, value_from["fieldRef"]["fieldPath"], addresses)
    if "resourceFieldRef" in value_from:
        return resource_value(pod, value_from["resourceFieldRef"], container["name"])
    ref, read = (
        (value_from["configMapKeyRef"], sources.config_map)
        if "configMapKeyRef" in value_from
        else (value_from["secretKeyRef"], sources.secret)
    )
    data = read(namespace, ref["name"])
    if data is None or ref["key"] not in data:
        if ref.get("optional"):
            return None
        raise NotReady(f"key {ref['key']!r} of {ref['name']!r} not found in {namespace}")
    return data[ref["key"]].decode()


def write_volume(*, volume: Json, pod: Json, target: Path, addresses: PodAddresses, sources: Sources) -> Path:
    """Materialise one pod volume under ``target``; return the host path to mount (hostPath: itself)."""
    namespace = pod["metadata"]["namespace"]
    if "hostPath" in volume:
        path = Path(volume["hostPath"]["path"])
        if volume["hostPath"].get("type") == "DirectoryOrCreate":
            path.mkdir(parents=True, exist_ok=True)
        return path
    if "persistentVolumeClaim" in volume:
        claim = volume["persistentVolumeClaim"]["claimName"]
        found = sources.claim_dir(namespace, claim)
        if found is None:
            raise NotReady(f"volume {volume['name']!r}: PersistentVolumeClaim {claim!r} not found in {namespace}")
        return found
    target.mkdir(parents=True, exist_ok=True)
    if "emptyDir" in volume:
        return target
    if "configMap" in volume or "secret" in volume:
        source = volume.get("configMap") or volume["secret"]
        name = source.get("name") or source.get("secretName")
        data = (sources.config_map if "configMap" in volume else sources.secret)(namespace, name)
        if data is None:
            if source.get("optional"):
                return target
            raise NotReady(f"volume {volume['name']!r}: {name!r} not found in {namespace}")
        _write_items(target, data, source.get("items"), source.get("defaultMode", DEFAULT_MODE))
        return target
    if "downwardAPI" in volume:
        _write_downward(target, volume["downwardAPI"], pod, addresses)
        return target
    if "projected" in volume:
        mode = volume["projected"].get("defaultMode", DEFAULT_MODE)
        for source in volume["projected"].get("sources") or []:
            _write_projection(target, source, mode=mode, pod=pod, addresses=addresses, sources=sources)
        return target
    kinds = sorted(set(volume) - {"name"})
    raise Unsupported(f"volume {volume['name']!r} of kind {kinds}")


def _write_projection(
    target: Path, source: Json, *, mode: int, pod: Json, addresses: PodAddresses, sources: Sources
) -> None:
    namespace = pod["metadata"]["namespace"]
    if "serviceAccountToken" in source:
        spec = source["serviceAccountToken"]
        token = sources.service_account_token(
            pod,
            audience=spec.get("audience"),
            expiration=spec.get("expirationSeconds", DEFAULT_TOKEN_EXPIRATION),
        )
        _write_file(target / spec["path"], token.encode(), mode)
    elif "configMap" in source or "secret" in source:
        ref = source.get("configMap") or source["secret"]
        data = (sources.config_map if "configMap" in source else sources.secret)(namespace, ref["name"])
        if data is None:
            if ref.get("optional"):
                return
            raise NotReady(f"projected {ref['name']!r} not found in {namespace}")
        _write_items(target, data, ref.get("items"), mode)
    elif "downwardAPI" in source:
        _write_downward(target, source["downwardAPI"], pod, addresses, mode)
    else:
        raise Unsupported(f"projected source {sorted(source)}")


def _write_items(target: Path, data: Mapping[str, bytes], items: list[Json] | None, mode: int) -> None:
    chosen = items or [{"key": key, "path": key} for key in data]
    for item in chosen:
        if item["key"] in data:
            _write_file(target / item["path"], data[item["key"]], item.get("mode", mode))


def _write_downward(target: Path, spec: Json, pod: Json, addresses: PodAddresses, mode: int | None = None) -> None:
    for item in spec.get("items") or []:
        if "fieldRef" in item:
            value = field_value(pod, item["fieldRef"]["fieldPath"], addresses)
        else:
            value = resource_value(pod, item["resourceFieldRef"], None)
        _write_file(
            target / item["path"],
            value.encode(),
            item.get("mode", mode or spec.get("defaultMode", DEFAULT_MODE)),
        )


def _write_file(path: Path, content: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    path.chmod(mode)


def decode_secret(data: Mapping[str, Any] | None) -> dict[str, bytes]:
    return {key: base64.b64decode(value) for key, value in (data or {}).items()}
