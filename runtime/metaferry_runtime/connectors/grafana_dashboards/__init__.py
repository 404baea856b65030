"""The `grafana-dashboards` connector of the display integration service (see `connector.py`)."""

from metaferry_runtime.connectors.grafana_dashboards.connector import GrafanaDashboardsConnector
from metaferry_runtime.connectors.grafana_dashboards.messages import GrafanaDashboardsMessages

__all__ = ["GrafanaDashboardsConnector", "GrafanaDashboardsMessages"]
