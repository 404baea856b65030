"""The `kubernetes-cluster` connector: catalogues a Kubernetes cluster's nodes, namespaces, workloads and Services.

start() loads the kubeconfig named by the endpoint (or the pod's ServiceAccount) and reads the cluster's
identity: the UID of the kube-system namespace, which stays the same for the cluster's life whatever
address it is reached by, so qualified names are `kubernetes://<that uid>/...`. A refused credential is
CONFIG_FAILED; an unreachable server is FAILED and retried.

Poll mode: each refresh lists every resource (`resources.py`) into a snapshot, maps it to elements
(`model.py`) and writes them with bulk upserts (`catalog.py`) in the refresh's one transaction, then archives
what disappeared under the cluster's prefix. Blocking mode: `engage()` keeps the snapshot current from
watches (`watching.py`) and writes each burst of changes as one change batch.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client

from metaferry_runtime.connectors.kubernetes_cluster import client as kube
from metaferry_runtime.connectors.kubernetes_cluster.catalog import CATALOGUED_TYPES, WriteOutcome, write_catalogue
from metaferry_runtime.connectors.kubernetes_cluster.model import (
    Catalogue,
    ServerMemo,
    catalogue_of,
    platform_of,
    scope_prefix,
)
from metaferry_runtime.connectors.kubernetes_cluster.resources import RESOURCES, Resource, Snapshot
from metaferry_runtime.connectors.kubernetes_cluster.settings import KubernetesClusterSettings
from metaferry_runtime.connectors.kubernetes_cluster.watching import ClusterWatcher
from metaferry_runtime.sdk import (
    ConnectorError,
    Diagnosis,
    IntegrationConnector,
    MessageCatalogue,
    Severity,
    numbered,
)
from metaferry_runtime.sdk.contexts.infrastructure import InfrastructureIntegratorContext


class KubernetesClusterMessages(MessageCatalogue):
    prefix = "METAFERRY-KUBERNETES-CLUSTER"

    CONNECTED = numbered(
        1,
        Severity.STARTUP,
        "Connector {connector_name} catalogues the Kubernetes cluster {cluster_id} at {server} ({version})",
        "The cluster is named by the UID of its kube-system namespace, whatever address it is reached by.",
        "No action is required.",
    )
    CATALOGUED = numbered(
        2,
        Severity.INFO,
        "Connector {connector_name} read {elements} elements of the cluster {cluster_id}: {changed} changed,"
        " {archived} archived",
        "Nodes, namespaces, workloads, Services and Ingresses were read and only what changed was written.",
        "No action is required.",
    )
    WATCH_RELISTED = numbered(
        3,
        Severity.INFO,
        "Connector {connector_name} listed {resource} of the cluster {cluster_id} again: {reason}",
        "The API server no longer holds the history the watch would resume from (410 Gone), so the resource"
        " was listed afresh; nothing was missed.",
        "No action is required.",
    )


class KubernetesClusterConnector(IntegrationConnector[InfrastructureIntegratorContext]):
    """Catalogues a Kubernetes cluster as Egeria's infrastructure: platform, hosts, capabilities, servers."""

    integration_service = "infrastructure"
    configuration_model = KubernetesClusterSettings

    def __init__(self) -> None:
        super().__init__()
        self._settings = KubernetesClusterSettings()
        self._api: client.ApiClient | None = None
        self._server = ""
        self._cluster_id = ""
        self._watcher: ClusterWatcher | None = None
        self._version: dict[str, Any] = {}

    # --- lifecycle --------------------------------------------------------------------------------------------
    def start(self) -> None:
        self._settings = self.configuration
        version = self._identify()
        if self._audit_log is not None:
            self.audit_log.log_message(
                "start",
                KubernetesClusterMessages.CONNECTED,
                connector_name=self.connector_name,
                cluster_id=self._cluster_id,
                server=self._server,
                version=version.get("gitVersion", "unknown version"),
            )

    def refresh(self) -> None:
        """List everything, then bring the repository in step with it in this one transaction."""
        snapshot = Snapshot()
        for resource in RESOURCES:
            items, version = self.list_resource(resource)
            snapshot.replace(resource.name, items, version)
        outcome, _ = self.write(snapshot)
        outcome.archived = [
            element.qualified_name
            for element in self.context.detect_deletions(
                type_names=list(CATALOGUED_TYPES), scope_prefix=scope_prefix(self._cluster_id)
            )
        ]
        self._report(outcome)

    def engage(self) -> None:
        """Blocking mode: apply the watches' events as they come (see `watching.py`)."""
        if self._watcher is None:
            self._watcher = ClusterWatcher(self)
        self._watcher.engage()

    def disconnect(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.stop()
        api, self._api = self._api, None
        if api is not None:
            api.close()  # type: ignore[no-untyped-call]

    def diagnose(self) -> list[Diagnosis]:
        """connect (version), cluster identity, and list permission on every resource the connector reads."""
        self._settings = self.configuration
        try:
            version = self._identify()
        except ConnectorError as error:
            return [Diagnosis("connect", False, str(error))]
        steps = [
            Diagnosis("connect", True, f"{self._server}: Kubernetes {version.get('gitVersion', '?')}"),
            Diagnosis("cluster identity", True, f"kube-system namespace UID {self._cluster_id}"),
        ]
        for resource in RESOURCES:
            try:
                kube.get_json(self.api, resource.path, timeout=self._settings.request_timeout_seconds, limit=1)
            except kube.REACH_ERRORS as error:
                steps.append(Diagnosis(f"list {resource.name}", False, str(self._error(error, resource.name))))
            else:
                steps.append(Diagnosis(f"list {resource.name}", True, "allowed"))
        return steps

    # --- for watching.py and the refresh ----------------------------------------------------------------------
    @property
    def api(self) -> client.ApiClient:
        if self._api is None:
            raise ConnectorError("kubernetes-cluster is not connected: start() has not run, or disconnect() has")
        return self._api

    @property
    def settings(self) -> KubernetesClusterSettings:
        return self._settings

    @property
    def cluster_id(self) -> str:
        return self._cluster_id

    def selector_of(self, resource: Resource) -> str:
        if resource.nodes:
            return self._settings.node_label_selector
        return self._settings.label_selector if resource.selected else ""

    def catalogue(self, snapshot: Snapshot, memo: ServerMemo | None = None) -> Catalogue:
        platform = platform_of(
            self._cluster_id, self._version, server=self._server, display_name=self._settings.cluster_name
        )
        return catalogue_of(
            snapshot, cluster_id=self._cluster_id, platform=platform, settings=self._settings, memo=memo
        )

    def write(self, snapshot: Snapshot) -> tuple[WriteOutcome, dict[str, str]]:
        """The snapshot's catalogue, written in the caller's transaction; and its elements' names and types."""
        catalogue = self.catalogue(snapshot)
        return write_catalogue(self.context, catalogue), catalogue.names()

    def report(self, outcome: WriteOutcome) -> None:
        self._report(outcome)

    def relisted(self, resource: str, reason: str) -> None:
        if self._audit_log is not None:
            self.audit_log.log_message(
                "engage",
                KubernetesClusterMessages.WATCH_RELISTED,
                connector_name=self.connector_name,
                resource=resource,
                cluster_id=self._cluster_id,
                reason=reason,
            )

    def list_resource(self, resource: Resource) -> tuple[list[dict[str, Any]], str]:
        try:
            return kube.list_all(
                self.api,
                resource.path,
                timeout=self._settings.request_timeout_seconds,
                page_size=self._settings.page_size,
                label_selector=self.selector_of(resource),
            )
        except kube.REACH_ERRORS as error:
            raise self._error(error, resource.name) from error

    def _error(self, error: Exception, what: str) -> ConnectorError:
        return kube.api_error(error, server=self._server, what=f"list {what}")

    def _identify(self) -> dict[str, Any]:
        """Connect, read the version and the cluster's identity."""
        if self._api is None:
            self._api, self._server = kube.api_client(self.connection.endpoint)
        timeout = self._settings.request_timeout_seconds
        try:
            self._version = kube.get_json(self.api, "/version", timeout=timeout)
            namespace = kube.get_json(self.api, "/api/v1/namespaces/kube-system", timeout=timeout)
        except kube.REACH_ERRORS as error:
            raise kube.api_error(error, server=self._server, what="read its version and kube-system") from error
        self._cluster_id = str((namespace.get("metadata") or {}).get("uid"))
        return self._version

    def _report(self, outcome: WriteOutcome) -> None:
        if self._audit_log is None:
            return
        self.audit_log.log_message(
            "refresh",
            KubernetesClusterMessages.CATALOGUED,
            connector_name=self.connector_name,
            elements=outcome.elements,
            cluster_id=self._cluster_id,
            changed=outcome.changed,
            archived=len(outcome.archived),
        )
