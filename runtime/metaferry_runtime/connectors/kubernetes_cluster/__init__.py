"""The `kubernetes-cluster` connector of the infrastructure integration service (see `connector.py`)."""

from metaferry_runtime.connectors.kubernetes_cluster.connector import (
    KubernetesClusterConnector,
    KubernetesClusterMessages,
)

__all__ = ["KubernetesClusterConnector", "KubernetesClusterMessages"]
