"""Workloads, Services and Nodes for the kubernetes-cluster tests, created in the real test API server.

The control plane has no scheduler and no kubelet: pods a controller creates stay Pending until a test binds
them to a Node (`bind_and_report`), which then reports them Running with an image digest, as a kubelet does.
Their pods name a scheduler nobody runs (`SCHEDULER`): the session's pod runner, which other tests start and
which binds and runs every default-scheduler pod, leaves them alone, so the status a test sets stays set.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client

IMAGE = "registry.example/shop/web:1.4.2"
DIGEST = "sha256:" + "ab" * 32
SCHEDULER = "kubernetes-cluster-tests"


def labels(app: str) -> dict[str, str]:
    return {"app": app}


def pod_template(app: str, image: str = IMAGE) -> dict[str, Any]:
    spec = {"schedulerName": SCHEDULER, "containers": [{"name": "main", "image": image}]}
    return {"metadata": {"labels": labels(app)}, "spec": spec}


def deployment(
    name: str, *, replicas: int = 1, image: str = IMAGE, extra_labels: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {**labels(name), **(extra_labels or {})}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels(name)},
            "template": pod_template(name, image),
        },
    }


def stateful_set(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "labels": labels(name)},
        "spec": {
            "serviceName": name,
            "replicas": 1,
            "selector": {"matchLabels": labels(name)},
            "template": pod_template(name, "registry.example/db:16"),
        },
    }


def daemon_set(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": name, "labels": labels(name)},
        "spec": {"selector": {"matchLabels": labels(name)}, "template": pod_template(name, "registry.example/agent:2")},
    }


def cron_job(name: str) -> dict[str, Any]:
    template = pod_template(name, "registry.example/report:0.9")
    template["spec"]["restartPolicy"] = "OnFailure"
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name, "labels": labels(name)},
        "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": template}}},
    }


def service(name: str, app: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": labels(app)},
        "spec": {"selector": labels(app), "ports": [{"port": 80, "protocol": "TCP"}]},
    }


def ingress(name: str, *, host: str, service_name: str) -> dict[str, Any]:
    backend = {"service": {"name": service_name, "port": {"number": 80}}}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": name, "labels": labels(service_name)},
        "spec": {
            "tls": [{"hosts": [host]}],
            "rules": [{"host": host, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]}}],
        },
    }


def create(api: client.ApiClient, namespace: str, *objects: dict[str, Any]) -> None:
    """Create each object in the namespace through the API the object's apiVersion names."""
    apps, batch, core = client.AppsV1Api(api), client.BatchV1Api(api), client.CoreV1Api(api)
    networking = client.NetworkingV1Api(api)
    creators = {
        "Deployment": apps.create_namespaced_deployment,
        "StatefulSet": apps.create_namespaced_stateful_set,
        "DaemonSet": apps.create_namespaced_daemon_set,
        "CronJob": batch.create_namespaced_cron_job,
        "Service": core.create_namespaced_service,
        "Ingress": networking.create_namespaced_ingress,
    }
    for obj in objects:
        creators[obj["kind"]](namespace, obj)


def node(api: client.ApiClient, name: str, *, zone: str = "zone-a") -> None:
    """A Node object with the status a kubelet reports (it runs nothing: the test plays the kubelet)."""
    core = client.CoreV1Api(api)
    core.create_node(
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": name, "labels": {"topology.kubernetes.io/zone": zone}},
        }
    )
    status = {
        "status": {
            "capacity": {"cpu": "8", "memory": "32Gi", "pods": "110"},
            "nodeInfo": {
                "osImage": "Debian GNU/Linux 13 (trixie)",
                "kernelVersion": "6.12.0-1-amd64",
                "containerRuntimeVersion": "containerd://2.1.0",
                "kubeletVersion": "v1.37.2",
                "operatingSystem": "linux",
                "architecture": "amd64",
                "machineID": "",
                "systemUUID": "",
                "bootID": "",
                "kubeProxyVersion": "",
            },
        }
    }
    core.patch_node_status(name, status)


def bind_and_report(api: client.ApiClient, namespace: str, *, app: str, node_name: str) -> int:
    """Bind the app's pending pods to the node and report them Running with the image's digest; how many."""
    core = client.CoreV1Api(api)
    pods = core.list_namespaced_pod(namespace, label_selector=f"app={app}").items
    for pod in pods:
        name = pod.metadata.name
        if pod.spec.node_name not in (None, node_name):
            raise AssertionError(f"pod {namespace}/{name} was bound to {pod.spec.node_name} by someone else")
        if not pod.spec.node_name:
            binding = {
                "apiVersion": "v1",
                "kind": "Binding",
                "metadata": {"name": name},
                "target": {"apiVersion": "v1", "kind": "Node", "name": node_name},
            }
            core.create_namespaced_binding(namespace, binding, _preload_content=False)
        image = pod.spec.containers[0].image
        statuses = [
            {
                "name": "main",
                "image": image,
                "imageID": f"{image.rsplit(':', 1)[0]}@{DIGEST}",
                "ready": True,
                "restartCount": 0,
                "state": {"running": {}},
            }
        ]
        core.patch_namespaced_pod_status(
            name, namespace, {"status": {"phase": "Running", "containerStatuses": statuses}}
        )
    return len(pods)
