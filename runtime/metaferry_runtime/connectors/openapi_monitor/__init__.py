"""The `openapi-monitor` connector of the api integration service (see `connector.py`)."""

from metaferry_runtime.connectors.openapi_monitor.connector import OpenAPIMonitorConnector
from metaferry_runtime.connectors.openapi_monitor.messages import OpenAPIMonitorMessages

__all__ = ["OpenAPIMonitorConnector", "OpenAPIMonitorMessages"]
