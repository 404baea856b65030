"""From a snapshot of the cluster to the elements and relationships that catalogue it (pure functions).

The shape is Egeria's deployment chain: each Node is a Host running the cluster, a SoftwareServerPlatform
(SoftwareServerPlatformDeployment); Namespaces are SoftwareCapabilities of the platform
(SupportedSoftwareCapability); Deployments, StatefulSets, DaemonSets and CronJobs are SoftwareServers deployed
on the platform (SoftwareServerDeployment), used by their namespace (ServerAssetUse) and DeployedOn the Hosts
their pods run on; Services and Ingresses are Endpoints linked (ServerEndpoint) to the workloads they reach.

Only what describes the thing is kept, never what changes while it runs (ready replicas, conditions,
heartbeats), so a refresh of a quiet cluster writes nothing. A workload's links are mirrored in its own
properties (`nodes`, `endpoints`): when they change, the workload changes, and only then are its links
compared with the repository's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from metaferry_runtime.connectors.kubernetes_cluster.resources import WORKLOADS, Json, Snapshot, key_of
from metaferry_runtime.connectors.kubernetes_cluster.settings import KubernetesClusterSettings
from metaferry_runtime.sdk import ElementUpsert

SCHEME = "kubernetes://"


def cluster_name(cluster_id: str) -> str:
    return f"{SCHEME}{cluster_id}"


def scope_prefix(cluster_id: str) -> str:
    """Every element of the cluster but the platform itself is named under this prefix."""
    return f"{cluster_name(cluster_id)}/"


@dataclass
class Catalogue:
    """What the snapshot says the repository should hold."""

    platform: ElementUpsert
    hosts: list[ElementUpsert] = field(default_factory=list)
    namespaces: list[ElementUpsert] = field(default_factory=list)
    endpoints: list[ElementUpsert] = field(default_factory=list)
    servers: list[ElementUpsert] = field(default_factory=list)
    #: server qualified name -> its namespace's, the hosts' and the endpoints' qualified names
    server_namespace: dict[str, str] = field(default_factory=dict)
    deployed_on: dict[str, tuple[str, ...]] = field(default_factory=dict)
    server_endpoints: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def names(self) -> dict[str, str]:
        """Every element's qualified name and type, the platform's aside."""
        groups = (self.hosts, self.namespaces, self.endpoints, self.servers)
        return {upsert.qualified_name: str(upsert.type_name) for group in groups for upsert in group}


def _meta(obj: Json) -> Json:
    return obj.get("metadata") or {}


def _labels(obj: Json, prefix: str = "label.") -> dict[str, str]:
    return {f"{prefix}{key}": str(value) for key, value in sorted((_meta(obj).get("labels") or {}).items())}


def _drop_empty(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value not in (None, "", {}, [])}


def platform_of(cluster_id: str, version: Json, *, server: str, display_name: str) -> ElementUpsert:
    properties = {
        "name": display_name or f"Kubernetes cluster {cluster_id}",
        "platformVersion": version.get("gitVersion"),
        "deployedImplementationType": "Kubernetes Cluster",
        "additionalProperties": _drop_empty(
            {
                "clusterId": cluster_id,
                "platform": version.get("platform"),
                "goVersion": version.get("goVersion"),
                "apiServer": server,
            }
        ),
    }
    return ElementUpsert(cluster_name(cluster_id), _drop_empty(properties), "SoftwareServerPlatform")


def _host(prefix: str, node: Json) -> ElementUpsert:
    status = node.get("status") or {}
    info = status.get("nodeInfo") or {}
    capacity = {f"capacity.{key}": str(value) for key, value in sorted((status.get("capacity") or {}).items())}
    extra = {
        "operatingSystemFamily": info.get("operatingSystem"),
        "kernelVersion": info.get("kernelVersion"),
        "containerRuntimeVersion": info.get("containerRuntimeVersion"),
        "kubeletVersion": info.get("kubeletVersion"),
        "uid": _meta(node).get("uid"),
        **capacity,
        **_labels(node),
    }
    properties = {
        "name": _meta(node).get("name"),
        "operatingSystem": info.get("osImage"),
        "operatingSystemPatchLevel": info.get("kernelVersion"),
        "architecture": info.get("architecture"),
        "deployedImplementationType": "Kubernetes Node",
        "additionalProperties": _drop_empty(extra),
    }
    return ElementUpsert(f"{prefix}nodes/{_meta(node).get('name')}", _drop_empty(properties), "Host")


def _namespace_name(prefix: str, namespace: str) -> str:
    return f"{prefix}namespaces/{namespace}"


def _namespace(prefix: str, obj: Json) -> ElementUpsert:
    name = str(_meta(obj).get("name"))
    properties = {
        "name": name,
        "deployedImplementationType": "Kubernetes Namespace",
        "additionalProperties": _drop_empty({"uid": _meta(obj).get("uid"), **_labels(obj)}),
    }
    return ElementUpsert(_namespace_name(prefix, name), _drop_empty(properties), "SoftwareCapability")


def _object_name(prefix: str, resource: str, obj: Json) -> str:
    metadata = _meta(obj)
    return f"{_namespace_name(prefix, str(metadata.get('namespace')))}/{resource}/{metadata.get('name')}"


def _pod_template(resource: str, obj: Json) -> Json:
    spec = obj.get("spec") or {}
    if resource == "cronjobs":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    template: Json = spec.get("template") or {}
    return template


def _owner(obj: Json) -> tuple[str, str] | None:
    for reference in _meta(obj).get("ownerReferences") or ():
        if reference.get("controller"):
            return str(reference.get("kind")), str(reference.get("name"))
    return None


def _workload_of_pods(snapshot: Snapshot) -> dict[str, list[Json]]:
    """Pods by their workload's key (`resource/namespace/name`), following ReplicaSets and Jobs to their owners."""
    resource_of_kind = {kind: resource for resource, kind in WORKLOADS.items()}
    parents: dict[tuple[str, str, str], tuple[str, str] | None] = {}
    for resource, kind in (("replicasets", "ReplicaSet"), ("jobs", "Job")):
        for obj in snapshot.objects[resource].values():
            parents[(kind, str(_meta(obj).get("namespace")), str(_meta(obj).get("name")))] = _owner(obj)
    pods: dict[str, list[Json]] = defaultdict(list)
    for pod in snapshot.objects["pods"].values():
        namespace = str(_meta(pod).get("namespace"))
        owner = _owner(pod)
        if owner is not None and owner[0] in ("ReplicaSet", "Job"):
            owner = parents.get((owner[0], namespace, owner[1]))
        if owner is not None and owner[0] in resource_of_kind:
            pods[f"{resource_of_kind[owner[0]]}/{namespace}/{owner[1]}"].append(pod)
    return pods


def _digests(pods: Iterable[Json]) -> dict[str, str]:
    """Each container's image digest, as the pods report it (the first pod, by name, that reports one)."""
    digests: dict[str, str] = {}
    for pod in sorted(pods, key=lambda pod: str(_meta(pod).get("name"))):
        for status in (pod.get("status") or {}).get("containerStatuses") or ():
            image_id = str(status.get("imageID") or "")
            if "@" in image_id and status.get("name") not in digests:
                digests[str(status.get("name"))] = image_id.rsplit("@", 1)[1]
    return digests


def _selects(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


def _service(prefix: str, obj: Json) -> ElementUpsert:
    spec = obj.get("spec") or {}
    metadata = _meta(obj)
    ports = [f"{port.get('port')}/{port.get('protocol', 'TCP')}" for port in spec.get("ports") or ()]
    selector = ",".join(f"{key}={value}" for key, value in sorted((spec.get("selector") or {}).items()))
    extra = {
        "kind": "Service",
        "namespace": metadata.get("namespace"),
        "type": spec.get("type"),
        "clusterIP": spec.get("clusterIP"),
        "ports": ",".join(ports),
        "selector": selector,
        **_labels(obj),
    }
    properties = {
        "name": metadata.get("name"),
        "networkAddress": f"{metadata.get('name')}.{metadata.get('namespace')}.svc",
        "protocol": ",".join(sorted({port.split("/")[1] for port in ports})),
        "additionalProperties": _drop_empty(extra),
    }
    return ElementUpsert(_object_name(prefix, "services", obj), _drop_empty(properties), "Endpoint")


def _ingress_backends(obj: Json) -> tuple[list[str], set[str]]:
    """The ingress's rules as `host/path -> service:port`, and the names of the Services they send to."""
    spec = obj.get("spec") or {}
    rules, services = [], set()
    default = (spec.get("defaultBackend") or {}).get("service")
    if default:
        services.add(str(default.get("name")))
        rules.append(f"* -> {default.get('name')}")
    for rule in spec.get("rules") or ():
        for path in (rule.get("http") or {}).get("paths") or ():
            backend = (path.get("backend") or {}).get("service") or {}
            port = backend.get("port") or {}
            services.add(str(backend.get("name")))
            target = f"{backend.get('name')}:{port.get('number') or port.get('name')}"
            rules.append(f"{rule.get('host', '*')}{path.get('path', '/')} -> {target}")
    return rules, services


def _ingress(prefix: str, obj: Json) -> ElementUpsert:
    spec = obj.get("spec") or {}
    rules, _ = _ingress_backends(obj)
    hosts = sorted({str(rule.get("host")) for rule in spec.get("rules") or () if rule.get("host")})
    tls = bool(spec.get("tls"))
    extra = {
        "kind": "Ingress",
        "namespace": _meta(obj).get("namespace"),
        "ingressClassName": spec.get("ingressClassName"),
        "rules": ", ".join(rules),
        **_labels(obj),
    }
    properties = {
        "name": _meta(obj).get("name"),
        "networkAddress": ",".join(f"{'https' if tls else 'http'}://{host}" for host in hosts),
        "protocol": "HTTPS" if tls else "HTTP",
        "encryptionMethod": "TLS" if tls else None,
        "additionalProperties": _drop_empty(extra),
    }
    return ElementUpsert(_object_name(prefix, "ingresses", obj), _drop_empty(properties), "Endpoint")


#: A workload's element by name, with what it was made from (resourceVersions of it and its pods, nodes,
#: endpoints): the watcher keeps one across bursts so a burst rebuilds only the workloads that changed.
ServerMemo = dict[str, tuple[tuple[Any, ...], ElementUpsert]]


def catalogue_of(
    snapshot: Snapshot,
    *,
    cluster_id: str,
    platform: ElementUpsert,
    settings: KubernetesClusterSettings,
    memo: ServerMemo | None = None,
) -> Catalogue:
    """The elements and links the snapshot's objects in the namespaces the settings select make."""
    prefix = scope_prefix(cluster_id)
    catalogue = Catalogue(platform=platform)

    def wanted(obj: Json) -> bool:
        return settings.wants_namespace(str(_meta(obj).get("namespace")))

    catalogue.hosts = [_host(prefix, node) for _, node in sorted(snapshot.objects["nodes"].items())]
    catalogue.namespaces = [
        _namespace(prefix, obj)
        for name, obj in sorted(snapshot.objects["namespaces"].items())
        if settings.wants_namespace(name)
    ]
    services = [obj for _, obj in sorted(snapshot.objects["services"].items()) if wanted(obj)]
    ingresses = [obj for _, obj in sorted(snapshot.objects["ingresses"].items()) if wanted(obj)]
    catalogue.endpoints = [_service(prefix, obj) for obj in services] + [_ingress(prefix, obj) for obj in ingresses]
    namespaces = {upsert.qualified_name for upsert in catalogue.namespaces}
    hosts = {str(_meta(node).get("name")) for node in snapshot.objects["nodes"].values()}
    pods_of = _workload_of_pods(snapshot)
    current: ServerMemo = {}

    for resource, kind in WORKLOADS.items():
        for key, obj in sorted(snapshot.objects[resource].items()):
            namespace_name = _namespace_name(prefix, str(_meta(obj).get("namespace")))
            if not wanted(obj) or namespace_name not in namespaces:
                continue
            name = _object_name(prefix, resource, obj)
            pods = pods_of.get(f"{resource}/{key}", [])
            labels = (_pod_template(resource, obj).get("metadata") or {}).get("labels") or {}
            reached = [
                service
                for service in services
                if _same_namespace(service, obj) and _selects((service.get("spec") or {}).get("selector") or {}, labels)
            ]
            reached_names = {str(_meta(service).get("name")) for service in reached}
            endpoints = sorted(
                [_object_name(prefix, "services", service) for service in reached]
                + [
                    _object_name(prefix, "ingresses", ingress)
                    for ingress in ingresses
                    if _same_namespace(ingress, obj) and _ingress_backends(ingress)[1] & reached_names
                ]
            )
            nodes = sorted({str((pod.get("spec") or {}).get("nodeName")) for pod in pods} & hosts)
            inputs = (_meta(obj).get("resourceVersion"), *(_meta(pod).get("resourceVersion") for pod in pods))
            made_from = (*inputs, "|", *nodes, "|", *endpoints)
            cached = memo.get(name) if memo is not None and all(inputs) else None
            if cached is not None and cached[0] == made_from:
                server = cached[1]
            else:
                server = _server(name, resource, kind, obj, pods, nodes=nodes, endpoints=endpoints)
            catalogue.servers.append(server)
            if memo is not None:
                current[name] = (made_from, server)
            catalogue.server_namespace[name] = namespace_name
            catalogue.deployed_on[name] = tuple(f"{prefix}nodes/{node}" for node in nodes)
            catalogue.server_endpoints[name] = tuple(endpoints)
    if memo is not None:  # only what this snapshot still holds
        memo.clear()
        memo.update(current)
    return catalogue


def _same_namespace(one: Json, other: Json) -> bool:
    return bool(_meta(one).get("namespace") == _meta(other).get("namespace"))


def _server(
    name: str, resource: str, kind: str, obj: Json, pods: list[Json], *, nodes: list[str], endpoints: list[str]
) -> ElementUpsert:
    spec = obj.get("spec") or {}
    containers = (_pod_template(resource, obj).get("spec") or {}).get("containers") or ()
    images = {f"image.{container.get('name')}": str(container.get("image")) for container in containers}
    digests = {f"digest.{container}": digest for container, digest in sorted(_digests(pods).items())}
    extra = {
        "kind": kind,
        "namespace": _meta(obj).get("namespace"),
        "uid": _meta(obj).get("uid"),
        "replicas": None if spec.get("replicas") is None else str(spec.get("replicas")),
        "schedule": spec.get("schedule"),
        "suspended": None if spec.get("suspend") is None else str(spec.get("suspend")).lower(),
        **images,
        **digests,
        "nodes": ",".join(nodes),
        "endpoints": ",".join(endpoints),
        **_labels(obj),
    }
    first_image = next(iter(images.values()), "")
    properties = {
        "name": _meta(obj).get("name"),
        "deployedImplementationType": f"Kubernetes {kind}",
        "serverVersion": first_image.rsplit(":", 1)[1] if ":" in first_image.rsplit("/", 1)[-1] else None,
        "additionalProperties": _drop_empty(extra),
    }
    return ElementUpsert(name, _drop_empty(properties), "SoftwareServer")


__all__ = ["Catalogue", "catalogue_of", "cluster_name", "key_of", "platform_of", "scope_prefix"]
