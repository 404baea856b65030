"""The kubernetes-cluster connector's configuration properties."""

from __future__ import annotations

from fnmatch import fnmatchcase

from pydantic import Field

from metaferry_runtime.sdk import ConnectorConfiguration


class KubernetesClusterSettings(ConnectorConfiguration):
    """Which parts of the cluster to catalogue. Label selectors are the API server's own syntax
    (`app=web,tier!=cache`) and are applied by the API server; namespace patterns are shell globs."""

    cluster_name: str = Field(default="", description="the cluster's display name; default: its kube-system UID")
    label_selector: str = Field(
        default="", description="a Kubernetes label selector for workloads and Services, e.g. app=web"
    )
    node_label_selector: str = Field(default="", description="a Kubernetes label selector for Nodes")
    include_namespaces: tuple[str, ...] = Field(
        default=(), description="namespace name patterns (globs) to catalogue; empty means every namespace"
    )
    exclude_namespaces: tuple[str, ...] = Field(
        default=(), description="namespace name patterns (globs) never catalogued, even when included"
    )
    request_timeout_seconds: int = Field(default=30, ge=1, le=600, description="seconds per API call, 1 to 600")
    page_size: int = Field(default=500, ge=10, le=5000, description="objects per list page, 10 to 5000")
    watch_timeout_seconds: int = Field(
        default=300, ge=5, le=3600, description="seconds one watch request lasts before it is renewed, 5 to 3600"
    )

    def wants_namespace(self, name: str) -> bool:
        """Included (or no include patterns) and not excluded."""
        if any(fnmatchcase(name, pattern) for pattern in self.exclude_namespaces):
            return False
        return not self.include_namespaces or any(fnmatchcase(name, pattern) for pattern in self.include_namespaces)
