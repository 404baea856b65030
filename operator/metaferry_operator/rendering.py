"""Pure functions from one IntegrationConnector to the manifests of its children.

Nothing here talks to the API server, so every rule of the runtime pod contract (paths, environment,
security context, probes, the config hash that rolls the pod) is unit-tested without a cluster. The
reconciler applies the results with server-side apply, so each manifest lists exactly the fields the
operator owns and nothing the API server fills in.

Children, all named ``<connector>-runtime`` and owned by the connector (controller reference, so deleting
the connector garbage-collects them; no finalizer is needed):

- ConfigMap: ``connector.yaml``, the connector manifest the runtime loads (no status, no annotations);
- Secret: the API ``token`` (generated once by the reconciler and passed in) and the ``repository-url``
  (``data``, not ``stringData``: server-side apply tracks ``data`` fields);
- Deployment: one replica (zero when suspended), ``Recreate`` so two runtimes never overlap;
- Service: port 8080, for users' ``kubectl port-forward``; the operator itself uses the pod IP; and the
  connector's ``spec.listenerPort`` (port name ``listener``), for the clients a notification connector serves;
- NetworkPolicy: only the operator's pods may reach port 8080; any pod may reach the listener port.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
from collections.abc import Iterator, Mapping
from typing import Any

import yaml

from metaferry_operator import naming
from metaferry_operator.config import OperatorConfig
from metaferry_runtime.resource import ConnectorResource

Manifest = dict[str, Any]

DEFAULT_RESOURCES = {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}}
_VOLUME_CONNECTOR = "metaferry-connector"
_VOLUME_TOKEN = "metaferry-token"
_VOLUME_SECRETS = "metaferry-secrets"
_VOLUME_TMP = "metaferry-tmp"
_VOLUME_DATA = "metaferry-data"
LISTENER_PORT_NAME = "listener"


def owner_reference(connector: ConnectorResource) -> Manifest:
    """The controller reference every child carries: garbage collection follows it on deletion."""
    return {
        "apiVersion": connector.api_version,
        "kind": connector.kind,
        "name": connector.metadata.name,
        "uid": connector.metadata.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _metadata(connector: ConnectorResource) -> Manifest:
    return {
        "name": naming.child_name(connector.metadata.name),
        "namespace": connector.metadata.namespace,
        "labels": naming.child_labels(connector.metadata.name),
        "ownerReferences": [owner_reference(connector)],
    }


# libyaml's emitter when PyYAML has it (the same text, five times faster: every pass renders the document)
_SAFE_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def connector_document(connector: ConnectorResource) -> str:
    """``connector.yaml``: what the runtime reads. Annotations and status are left out, so a refresh
    request or a status write never changes the file (and never rolls the pod)."""
    meta = connector.metadata
    document = {
        "apiVersion": connector.api_version,
        "kind": connector.kind,
        "metadata": {"name": meta.name, "namespace": meta.namespace, "uid": meta.uid, "generation": meta.generation},
        "spec": connector.spec.to_wire(),
    }
    return yaml.dump(document, Dumper=_SAFE_DUMPER, sort_keys=False)


def config_map(connector: ConnectorResource) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata(connector),
        "data": {naming.CONNECTOR_FILE: connector_document(connector)},
    }


def repository_url(config: OperatorConfig) -> str:
    """The shared repository, or a per-pod SQLite file when the operator has none configured."""
    return config.repository_url or naming.LOCAL_REPOSITORY_URL


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def runtime_secret(connector: ConnectorResource, *, token: str, config: OperatorConfig) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _metadata(connector),
        "type": "Opaque",
        "data": {naming.TOKEN_KEY: _b64(token), naming.REPOSITORY_URL_KEY: _b64(repository_url(config))},
    }


def config_hash(connector: ConnectorResource, *, config: OperatorConfig, token: str, secret_digest: str | None) -> str:
    """What must restart the runtime when it changes: its manifest, the repository it writes to, its API
    token (read once at start) and the referenced Secret (by digest: values never leave the reconciler)."""
    material = json.dumps(
        {
            "connector": connector_document(connector),
            "repository": repository_url(config),
            "token": hashlib.sha256(token.encode()).hexdigest(),
            "secret": secret_digest,
        },
        sort_keys=True,
    )
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def secret_digest(data: Mapping[str, str] | None) -> str | None:
    """A digest of a Secret's data (base64 values as the API returns them); None for a missing Secret."""
    if data is None:
        return None
    return hashlib.sha256(json.dumps(dict(data), sort_keys=True).encode()).hexdigest()


def _security_context() -> Manifest:
    return {
        "runAsNonRoot": True,
        "runAsUser": naming.RUNTIME_USER,
        "runAsGroup": naming.RUNTIME_USER,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _environment(connector: ConnectorResource, user_env: list[Manifest]) -> list[Manifest]:
    env: list[Manifest] = [
        {
            "name": "METAFERRY_REPOSITORY_URL",
            "valueFrom": {
                "secretKeyRef": {"name": naming.child_name(connector.metadata.name), "key": naming.REPOSITORY_URL_KEY}
            },
        },
        {"name": "METAFERRY_API_TOKEN_FILE", "value": f"{naming.TOKEN_DIR}/{naming.TOKEN_KEY}"},
    ]
    if connector.spec.connection.secret_ref is not None:
        env.append({"name": "METAFERRY_SECRETS_DIR", "value": naming.SECRETS_DIR})
    ours = {item["name"] for item in env}
    return env + [item for item in user_env if item["name"] not in ours]  # the pod contract wins


def _volumes(connector: ConnectorResource, *, config: OperatorConfig) -> tuple[list[Manifest], list[Manifest]]:
    name = naming.child_name(connector.metadata.name)
    volumes: list[Manifest] = [
        {"name": _VOLUME_CONNECTOR, "configMap": {"name": name}},
        {
            "name": _VOLUME_TOKEN,
            "secret": {"secretName": name, "items": [{"key": naming.TOKEN_KEY, "path": naming.TOKEN_KEY}]},
        },
        {"name": _VOLUME_TMP, "emptyDir": {}},
    ]
    mounts: list[Manifest] = [
        {"name": _VOLUME_CONNECTOR, "mountPath": naming.CONNECTOR_DIR, "readOnly": True},
        {"name": _VOLUME_TOKEN, "mountPath": naming.TOKEN_DIR, "readOnly": True},
        {"name": _VOLUME_TMP, "mountPath": "/tmp"},
    ]
    secret_ref = connector.spec.connection.secret_ref
    if secret_ref is not None:
        volumes.append({"name": _VOLUME_SECRETS, "secret": {"secretName": secret_ref.name}})
        mounts.append({"name": _VOLUME_SECRETS, "mountPath": naming.SECRETS_DIR, "readOnly": True})
    if not config.repository_url:
        volumes.append({"name": _VOLUME_DATA, "emptyDir": {}})
        mounts.append({"name": _VOLUME_DATA, "mountPath": naming.DATA_DIR})
    return volumes, mounts


def _probe(path: str, *, period: int, failures: int) -> Manifest:
    return {
        "httpGet": {"path": path, "port": naming.RUNTIME_PORT_NAME},
        "periodSeconds": period,
        "timeoutSeconds": 3,
        "failureThreshold": failures,
    }


def deployment(
    connector: ConnectorResource, *, config: OperatorConfig, token: str, secret_digest: str | None
) -> Manifest:
    """The runtime's Deployment; ``spec.pod`` overrides are applied on top of the contract's defaults."""
    digest = config_hash(connector, config=config, token=token, secret_digest=secret_digest)
    return _deployment(connector, config=config, template_hash=digest)


def _deployment(connector: ConnectorResource, *, config: OperatorConfig, template_hash: str) -> Manifest:
    pod = connector.spec.pod
    wire_pod: dict[str, Any] = pod.to_wire() if pod is not None else {}
    name = connector.metadata.name
    volumes, mounts = _volumes(connector, config=config)
    resources = {**DEFAULT_RESOURCES, **{k: v for k, v in wire_pod.get("resources", {}).items() if v}}
    container: Manifest = {
        "name": naming.CONTAINER_NAME,
        "image": wire_pod.get("image") or config.runtime_image,
        "imagePullPolicy": wire_pod.get("imagePullPolicy") or config.runtime_image_pull_policy,
        "command": ["metaferry-runtime", "run", f"{naming.CONNECTOR_DIR}/{naming.CONNECTOR_FILE}"],
        "ports": [
            {"name": naming.RUNTIME_PORT_NAME, "containerPort": naming.RUNTIME_PORT, "protocol": "TCP"},
            *_listener(connector, {"containerPort": connector.spec.listener_port}),
        ],
        "env": _environment(connector, wire_pod.get("env", [])),
        "livenessProbe": _probe("/healthz", period=10, failures=3),
        "readinessProbe": _probe("/readyz", period=5, failures=2),
        "resources": resources,
        "securityContext": _security_context(),
        "volumeMounts": mounts + wire_pod.get("volumeMounts", []),
    }
    pod_spec: Manifest = {
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": naming.RUNTIME_USER,
            "runAsGroup": naming.RUNTIME_USER,
            "fsGroup": naming.RUNTIME_USER,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "automountServiceAccountToken": "serviceAccountName" in wire_pod,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": 30,
        "containers": [container],
        "volumes": volumes + wire_pod.get("volumes", []),
    }
    for field in ("serviceAccountName", "nodeSelector", "tolerations"):
        if field in wire_pod:
            pod_spec[field] = wire_pod[field]
    annotations = {
        **wire_pod.get("annotations", {}),
        naming.CONFIG_HASH_ANNOTATION: template_hash,
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(connector),
        "spec": {
            "replicas": 0 if connector.spec.suspend else 1,
            "strategy": {"type": "Recreate"},
            "revisionHistoryLimit": 3,
            "selector": {"matchLabels": naming.selector_labels(name)},
            "template": {
                "metadata": {
                    "labels": {**wire_pod.get("labels", {}), **naming.child_labels(name)},
                    "annotations": annotations,
                },
                "spec": pod_spec,
            },
        },
    }


def service(connector: ConnectorResource) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(connector),
        "spec": {
            "type": "ClusterIP",
            "selector": naming.selector_labels(connector.metadata.name),
            "ports": [
                {
                    "name": naming.RUNTIME_PORT_NAME,
                    "port": naming.RUNTIME_PORT,
                    "targetPort": naming.RUNTIME_PORT_NAME,
                    "protocol": "TCP",
                },
                *_listener(connector, {"port": connector.spec.listener_port, "targetPort": LISTENER_PORT_NAME}),
            ],
        },
    }


def _listener(connector: ConnectorResource, fields: Manifest) -> list[Manifest]:
    """The listener port entry of a ports list (container or Service), or none without spec.listenerPort."""
    if connector.spec.listener_port is None:
        return []
    return [{"name": LISTENER_PORT_NAME, **fields, "protocol": "TCP"}]


def network_policy(connector: ConnectorResource, *, config: OperatorConfig) -> Manifest:
    """Only the operator's pods reach the runtime API (bearer token or not: defence in depth); the connector's
    listener port is open to every client, which the connector authenticates itself."""
    peer: Manifest = {"podSelector": {"matchLabels": dict(config.operator_pod_labels)}}
    peer["namespaceSelector"] = (
        {"matchLabels": {"kubernetes.io/metadata.name": config.operator_namespace}} if config.operator_namespace else {}
    )
    ingress: list[Manifest] = [{"from": [peer], "ports": [{"protocol": "TCP", "port": naming.RUNTIME_PORT}]}]
    if connector.spec.listener_port is not None:
        ingress.append({"ports": [{"protocol": "TCP", "port": connector.spec.listener_port}]})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _metadata(connector),
        "spec": {
            "podSelector": {"matchLabels": naming.selector_labels(connector.metadata.name)},
            "policyTypes": ["Ingress"],
            "ingress": ingress,
        },
    }


@dataclasses.dataclass(frozen=True)
class Children:
    """Every child of one connector, by name, and the config hash its pod template carries (what the
    reconciler compares with the running pod's). Iterating gives the manifests in the order they are
    applied: the Deployment after what its pod mounts."""

    config_map: Manifest
    secret: Manifest
    deployment: Manifest
    service: Manifest
    network_policy: Manifest
    config_hash: str

    @property
    def manifests(self) -> list[Manifest]:
        return [self.config_map, self.secret, self.deployment, self.service, self.network_policy]

    def __iter__(self) -> Iterator[Manifest]:
        return iter(self.manifests)


def children(
    connector: ConnectorResource, *, config: OperatorConfig, token: str, secret_digest: str | None
) -> Children:
    """Every child of the connector, rendered."""
    digest = config_hash(connector, config=config, token=token, secret_digest=secret_digest)
    return Children(
        config_map=config_map(connector),
        secret=runtime_secret(connector, token=token, config=config),
        deployment=_deployment(connector, config=config, template_hash=digest),
        service=service(connector),
        network_policy=network_policy(connector, config=config),
        config_hash=digest,
    )
