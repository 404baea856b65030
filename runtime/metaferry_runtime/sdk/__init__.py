"""What connector authors import: the connector base class, the Connection, the contexts and the errors."""

from metaferry_runtime.audit.messages import AuditMessage, Severity
from metaferry_runtime.repository import ChangeEvent, ChangeKind, Element, InstanceStatus
from metaferry_runtime.sdk.broker import ENTRY_POINT_GROUP, available_connectors, create_connector
from metaferry_runtime.sdk.configuration import ConnectorConfiguration, validate_configuration
from metaferry_runtime.sdk.connection import Connection
from metaferry_runtime.sdk.connector import Diagnosis, IntegrationConnector
from metaferry_runtime.sdk.context import IntegrationContext, OutTopicBounds, RefreshAbandoned
from metaferry_runtime.sdk.contexts._elements import ElementUpsert
from metaferry_runtime.sdk.errors import (
    ConnectorConfigurationError,
    ConnectorError,
    ContextDisconnected,
    EngageNotImplemented,
    InvalidConfiguration,
    SynchronizationNotPermitted,
)
from metaferry_runtime.sdk.messages import MessageCatalogue, numbered
from metaferry_runtime.sdk.routes import ApiError, ApiRequest, ApiResponse, ApiRoute
from metaferry_runtime.sdk.targets import CatalogTarget

__all__ = [
    "ENTRY_POINT_GROUP",
    "ApiError",
    "ApiRequest",
    "ApiResponse",
    "ApiRoute",
    "AuditMessage",
    "CatalogTarget",
    "ChangeEvent",
    "ChangeKind",
    "Connection",
    "ConnectorConfiguration",
    "ConnectorConfigurationError",
    "ConnectorError",
    "ContextDisconnected",
    "Diagnosis",
    "Element",
    "ElementUpsert",
    "EngageNotImplemented",
    "InstanceStatus",
    "IntegrationConnector",
    "IntegrationContext",
    "InvalidConfiguration",
    "MessageCatalogue",
    "OutTopicBounds",
    "RefreshAbandoned",
    "Severity",
    "SynchronizationNotPermitted",
    "available_connectors",
    "create_connector",
    "numbered",
    "validate_configuration",
]
