"""`spec` of an IntegrationConnector: which connector, for which integration service, and how it runs.

Validation rules that OpenAPI cannot state are written once here as CEL (`x-kubernetes-validations`) in the
JSON schema, and again as pydantic validators so the runtime refuses the same manifests without a cluster.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Any

from pydantic import ConfigDict, Field, field_validator, model_validator

from metaferry_runtime.resource.base import KubeModel
from metaferry_runtime.resource.catalog_target import CatalogTarget, CatalogTargetEntry
from metaferry_runtime.resource.duration import Duration

MIN_REFRESH_INTERVAL = timedelta(seconds=10)
#: The runtime's own HTTP API port in a pod; a connector's listener port may not take it.
RUNTIME_API_PORT = 8080
MAX_REFRESH_INTERVAL = timedelta(days=7)
#: Pod label and annotation prefixes the operator sets itself (selectors, config hash); users may not override them.
RESERVED_LABEL_PREFIXES = ("app.kubernetes.io/", "metaferry.io/")
_RESERVED_KEYS_RULE = "self.all(k, !k.startsWith('app.kubernetes.io/') && !k.startsWith('metaferry.io/'))"
_DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
_CONNECTOR_NAME = r"^([a-z0-9][-a-z0-9]*|[A-Za-z_][\w.]*:[A-Za-z_]\w*)$"


class IntegrationService(StrEnum):
    """Egeria's twelve integration services; each gives connectors a context for its element types."""

    ANALYTICS = "analytics"
    API = "api"
    CATALOG = "catalog"
    DATABASE = "database"
    DISPLAY = "display"
    FILES = "files"
    INFRASTRUCTURE = "infrastructure"
    LINEAGE = "lineage"
    ORGANIZATION = "organization"
    SEARCH = "search"
    SECURITY = "security"
    TOPIC = "topic"


class PermittedSynchronization(StrEnum):
    """Which way metadata may flow between open metadata and the third-party technology."""

    FROM_THIRD_PARTY = "FROM_THIRD_PARTY"
    TO_THIRD_PARTY = "TO_THIRD_PARTY"
    BOTH_DIRECTIONS = "BOTH_DIRECTIONS"


class SecretReference(KubeModel):
    """A Secret in the connector's namespace; every key becomes a secured property of the connection."""

    name: str = Field(
        min_length=1, max_length=253, description="Name of a Secret in the same namespace as the connector."
    )


class ConnectionSpec(KubeModel):
    """What the connector connects to. Secrets come only through `secretRef`, never inline."""

    endpoint: str | None = Field(
        default=None,
        max_length=2048,
        description="Network address or path of the third-party technology (a URL, host:port or a directory).",
    )
    configuration_properties: dict[str, Any] = Field(
        default_factory=dict,
        description="Free-form settings for the connector (strings, numbers, booleans, lists, objects).",
        json_schema_extra={"x-kubernetes-preserve-unknown-fields": True},
    )
    secret_ref: SecretReference | None = Field(
        default=None, description="Secret whose keys are handed to the connector as secured properties."
    )


class AutoRestart(KubeModel):
    """Restart a FAILED connector with capped exponential backoff instead of leaving it failed for good."""

    enabled: bool = Field(default=True, description="Restart the connector automatically after a failure.")
    max_restarts: int | None = Field(
        default=None, ge=0, description="Give up after this many consecutive restarts; unset means never."
    )
    initial_backoff: Duration = Field(
        default=timedelta(seconds=5), description="Wait before the first restart; doubles each time."
    )
    max_backoff: Duration = Field(default=timedelta(minutes=10), description="Longest wait between two restarts.")


class DeletionDetection(KubeModel):
    """Archive owned elements that a clean refresh no longer saw, with a fail-safe against over-deletion."""

    enabled: bool = Field(default=True, description="Archive owned elements that disappeared from the source.")
    max_archive_percent: int = Field(
        default=50,
        ge=0,
        le=100,
        description="Refuse to archive more than this share (percent) of the connector's elements in one refresh.",
    )
    dry_run: bool = Field(default=False, description="Report what would be archived without archiving it.")


class EnvVarSource(KubeModel):
    """The subset of Kubernetes' EnvVarSource a connector pod needs."""

    secret_key_ref: dict[str, str] | None = Field(default=None, description="{name, key} of a Secret.")
    config_map_key_ref: dict[str, str] | None = Field(default=None, description="{name, key} of a ConfigMap.")
    field_ref: dict[str, str] | None = Field(default=None, description="{fieldPath} of the pod.")


class EnvVar(KubeModel):
    """An environment variable: a literal `value` or a `valueFrom` source, not both."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {"rule": "!(has(self.value) && has(self.valueFrom))", "message": "set value or valueFrom, not both"}
            ]
        }
    )

    name: str = Field(min_length=1, description="Environment variable name.")
    value: str | None = None
    value_from: EnvVarSource | None = None

    @model_validator(mode="after")
    def _value_or_source(self) -> EnvVar:
        if self.value is not None and self.value_from is not None:
            raise ValueError(f"env {self.name}: set value or valueFrom, not both")
        return self


class KeyToPath(KubeModel):
    key: str
    path: str


class ConfigMapOrSecretVolume(KubeModel):
    name: str | None = Field(default=None, description="ConfigMap name (configMap volumes).")
    secret_name: str | None = Field(default=None, description="Secret name (secret volumes).")
    items: list[KeyToPath] | None = None
    optional: bool | None = None


class PersistentVolumeClaimVolume(KubeModel):
    claim_name: str
    read_only: bool | None = None


class EmptyDirVolume(KubeModel):
    medium: str | None = None
    size_limit: str | None = None


_VOLUME_SOURCES = ("config_map", "secret", "empty_dir", "persistent_volume_claim")


class Volume(KubeModel):
    """A pod volume with exactly one source: configMap, secret, emptyDir or persistentVolumeClaim."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "[has(self.configMap), has(self.secret), has(self.emptyDir),"
                    " has(self.persistentVolumeClaim)].filter(x, x).size() == 1",
                    "message": "a volume needs exactly one of configMap, secret, emptyDir, persistentVolumeClaim",
                }
            ]
        }
    )

    name: str = Field(pattern=_DNS_LABEL, max_length=63)
    config_map: ConfigMapOrSecretVolume | None = None
    secret: ConfigMapOrSecretVolume | None = None
    empty_dir: EmptyDirVolume | None = None
    persistent_volume_claim: PersistentVolumeClaimVolume | None = None

    @model_validator(mode="after")
    def _exactly_one_source(self) -> Volume:
        if sum(getattr(self, source) is not None for source in _VOLUME_SOURCES) != 1:
            raise ValueError(
                f"volume {self.name}: needs exactly one of configMap, secret, emptyDir, persistentVolumeClaim"
            )
        return self


class VolumeMount(KubeModel):
    name: str
    mount_path: str
    read_only: bool | None = None
    sub_path: str | None = None


class Toleration(KubeModel):
    key: str | None = None
    operator: str | None = None
    value: str | None = None
    effect: str | None = None
    toleration_seconds: int | None = None


class ResourceRequirements(KubeModel):
    requests: dict[str, str] | None = Field(default=None, description="e.g. {cpu: 100m, memory: 128Mi}")
    limits: dict[str, str] | None = Field(default=None, description="e.g. {memory: 256Mi}")


class PodOverrides(KubeModel):
    """How the connector's pod runs. The operator fills in everything left unset."""

    image: str | None = Field(default=None, description="Runtime image; defaults to the operator's setting.")
    image_pull_policy: str | None = Field(default=None, pattern=r"^(Always|IfNotPresent|Never)$")
    resources: ResourceRequirements | None = None
    env: list[EnvVar] | None = Field(default=None, max_length=128)
    volumes: list[Volume] | None = Field(default=None, max_length=64)
    volume_mounts: list[VolumeMount] | None = Field(default=None, max_length=64)
    service_account_name: str | None = None
    node_selector: dict[str, str] | None = None
    tolerations: list[Toleration] | None = Field(default=None, max_length=64)
    labels: dict[str, str] | None = Field(
        default=None,
        max_length=64,
        description="Extra labels for the pod; app.kubernetes.io/ and metaferry.io/ keys are reserved.",
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": _RESERVED_KEYS_RULE,
                    "message": "pod labels starting with app.kubernetes.io/ or metaferry.io/ are reserved",
                }
            ]
        },
    )
    annotations: dict[str, str] | None = Field(
        default=None,
        max_length=64,
        description="Extra annotations for the pod; app.kubernetes.io/ and metaferry.io/ keys are reserved.",
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": _RESERVED_KEYS_RULE,
                    "message": "pod annotations starting with app.kubernetes.io/ or metaferry.io/ are reserved",
                }
            ]
        },
    )

    @field_validator("labels", "annotations")
    @classmethod
    def _no_reserved_keys(cls, value: dict[str, str] | None, info: Any) -> dict[str, str] | None:
        reserved = sorted(k for k in value or {} if k.startswith(RESERVED_LABEL_PREFIXES))
        if reserved:
            raise ValueError(
                f"pod {info.field_name} starting with app.kubernetes.io/ or metaferry.io/ are reserved:"
                f" {', '.join(reserved)}"
            )
        return value


class IntegrationConnectorSpec(KubeModel):
    """The desired state of one integration connector."""

    integration_service: IntegrationService = Field(
        description="The integration service whose context the connector receives."
    )
    connector: str = Field(
        min_length=1,
        max_length=256,
        pattern=_CONNECTOR_NAME,
        description=(
            "Connector to run: an entry-point name of group 'metaferry.connectors' "
            "(e.g. directory-monitor) or 'module:Class'."
        ),
    )
    connection: ConnectionSpec = Field(default_factory=ConnectionSpec)
    refresh_interval: Duration | None = Field(
        default=None,
        description=(
            "Time between refreshes, such as 30s, 10m or 1h; 0 or unset refreshes only at start and on request."
        ),
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "self == '0' || (duration(self) >= duration('10s') && duration(self) <= duration('168h'))",
                    "message": "refreshInterval must be 0 or between 10s and 168h (7 days)",
                }
            ]
        },
    )
    refresh_timeout: Duration = Field(
        default=timedelta(minutes=30),
        description="A refresh running longer than this is abandoned and reported as failed.",
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "duration(self) >= duration('1s') && duration(self) <= duration('24h')",
                    "message": "refreshTimeout must be between 1s and 24h",
                }
            ]
        },
    )
    uses_blocking_calls: bool = Field(
        default=False, description="True runs the connector's engage() in a loop on its own thread."
    )
    permitted_synchronization: PermittedSynchronization = Field(
        default=PermittedSynchronization.FROM_THIRD_PARTY,
        description="Direction in which metadata may flow.",
    )
    metadata_source_qualified_name: str | None = Field(
        default=None,
        min_length=1,
        max_length=512,
        description="Metadata collection owning what this connector creates; defaults to <namespace>/<name>.",
    )
    catalog_targets: list[CatalogTargetEntry] = Field(
        default_factory=list,
        max_length=256,
        description="Things this connector works on (folders, schemas, URLs...), handed to it through its context;"
        " each a name, or {name, configurationProperties} for settings that apply to that target alone.",
    )
    listener_port: int | None = Field(
        default=None,
        ge=1024,
        le=65535,
        description=(
            "A port the connector itself serves third-party clients on (openlineage-receiver's lineage endpoint):"
            " the pod, the Service and the NetworkPolicy open it to any client; the connector authenticates them."
        ),
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": f"self != {RUNTIME_API_PORT}",
                    "message": f"listenerPort {RUNTIME_API_PORT} is the runtime API's",
                }
            ]
        },
    )
    suspend: bool = Field(default=False, description="True stops the connector's pod; nothing is refreshed.")
    auto_restart: AutoRestart = Field(default_factory=AutoRestart)
    deletion_detection: DeletionDetection = Field(default_factory=DeletionDetection)
    pod: PodOverrides | None = Field(default=None, description="How the connector's pod is run.")

    @field_validator("refresh_interval")
    @classmethod
    def _interval_bounds(cls, value: timedelta | None) -> timedelta | None:
        if value is None or value == timedelta(0):
            return value
        if not MIN_REFRESH_INTERVAL <= value <= MAX_REFRESH_INTERVAL:
            raise ValueError("refreshInterval must be 0 or between 10s and 168h (7 days)")
        return value

    @field_validator("refresh_timeout")
    @classmethod
    def _timeout_bounds(cls, value: timedelta) -> timedelta:
        if not timedelta(seconds=1) <= value <= timedelta(hours=24):
            raise ValueError("refreshTimeout must be between 1s and 24h")
        return value

    @field_validator("listener_port")
    @classmethod
    def _not_the_runtime_port(cls, value: int | None) -> int | None:
        if value == RUNTIME_API_PORT:
            raise ValueError(f"listenerPort {RUNTIME_API_PORT} is the runtime API's")
        return value

    @field_validator("catalog_targets")
    @classmethod
    def _unique_targets(cls, value: list[CatalogTarget]) -> list[CatalogTarget]:
        names = [target.name for target in value]
        if len(set(names)) != len(names):
            raise ValueError("catalogTargets must not name the same target twice")
        return value

    @property
    def refresh_period(self) -> timedelta | None:
        """The refresh period, or None when refresh happens only at start and on request."""
        if self.refresh_interval is None or self.refresh_interval == timedelta(0):
            return None
        return self.refresh_interval
