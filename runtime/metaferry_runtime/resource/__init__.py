"""The IntegrationConnector custom resource, as pydantic models.

One source of truth: these models validate the manifest the runtime loads, generate the CRD schema the
operator installs, and shape the status the operator writes.
"""

from metaferry_runtime.resource.catalog_target import CatalogTarget
from metaferry_runtime.resource.duration import Duration, format_duration, parse_duration
from metaferry_runtime.resource.manifest import (
    API_GROUP,
    API_VERSION,
    KIND,
    ConnectorResource,
    ManifestError,
    ObjectMeta,
    load_manifest,
)
from metaferry_runtime.resource.spec import (
    AutoRestart,
    ConnectionSpec,
    DeletionDetection,
    IntegrationConnectorSpec,
    IntegrationService,
    PermittedSynchronization,
    PodOverrides,
    SecretReference,
)
from metaferry_runtime.resource.status import (
    ArchiveRefusal,
    Condition,
    IntegrationConnectorStatus,
    Phase,
    RefreshStatistics,
    RequestedRefresh,
    RequestedRefreshResult,
)

__all__ = [
    "API_GROUP",
    "API_VERSION",
    "KIND",
    "ArchiveRefusal",
    "AutoRestart",
    "CatalogTarget",
    "Condition",
    "ConnectionSpec",
    "ConnectorResource",
    "DeletionDetection",
    "Duration",
    "IntegrationConnectorSpec",
    "IntegrationConnectorStatus",
    "IntegrationService",
    "ManifestError",
    "ObjectMeta",
    "PermittedSynchronization",
    "Phase",
    "PodOverrides",
    "RefreshStatistics",
    "RequestedRefresh",
    "RequestedRefreshResult",
    "SecretReference",
    "format_duration",
    "load_manifest",
    "parse_duration",
]
