"""Names the operator gives to what it creates, and the paths and ports of the runtime pod contract.

Kept in one place because the rendering, the reconciler, the tests and the Helm chart must agree on them.
"""

from __future__ import annotations

from metaferry_runtime.resource.manifest import API_GROUP, API_VERSION, KIND, PLURAL

GROUP = API_GROUP
VERSION = API_VERSION.split("/", 1)[1]
RESOURCE_KIND = KIND
RESOURCE_PLURAL = PLURAL
CRD_NAME = f"{PLURAL}.{GROUP}"

FIELD_MANAGER = "metaferry-operator"

REFRESH_ANNOTATION = f"{GROUP}/refresh-requested-at"
RESTART_ANNOTATION = f"{GROUP}/restart-requested-at"
CONFIRM_ARCHIVE_ANNOTATION = f"{GROUP}/confirm-archive-requested-at"
CONFIG_HASH_ANNOTATION = f"{GROUP}/config-hash"

LABEL_NAME = "app.kubernetes.io/name"
LABEL_INSTANCE = "app.kubernetes.io/instance"
LABEL_COMPONENT = "app.kubernetes.io/component"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_PART_OF = "app.kubernetes.io/part-of"
MANAGED_BY = "metaferry-operator"
CHILD_NAME = "metaferry-connector"

RUNTIME_PORT = 8080
RUNTIME_PORT_NAME = "http"
CONTAINER_NAME = "runtime"
RUNTIME_USER = 10001

CONNECTOR_DIR = "/etc/metaferry/connector"
CONNECTOR_FILE = "connector.yaml"
TOKEN_DIR = "/etc/metaferry/token"
TOKEN_KEY = "token"
REPOSITORY_URL_KEY = "repository-url"
SECRETS_DIR = "/etc/metaferry/secrets"
DATA_DIR = "/var/lib/metaferry"
LOCAL_REPOSITORY_URL = f"sqlite:///{DATA_DIR}/metaferry.db"


def child_name(connector: str) -> str:
    """Every child of one connector shares this name (ConfigMap, Secret, Deployment, Service, NetworkPolicy)."""
    return f"{connector}-runtime"


def selector_labels(connector: str) -> dict[str, str]:
    """The labels that select one connector's pods; immutable once a Deployment exists."""
    return {LABEL_NAME: CHILD_NAME, LABEL_INSTANCE: connector, LABEL_COMPONENT: "connector"}


def child_labels(connector: str) -> dict[str, str]:
    """The recommended labels on every child; the operator watches children by `managed-by`."""
    return {**selector_labels(connector), LABEL_MANAGED_BY: MANAGED_BY, LABEL_PART_OF: "metaferry"}
