"""The `opa-publisher` connector of the security integration service (see `connector.py`)."""

from metaferry_runtime.connectors.opa_publisher.connector import OpaPublisherConnector, OpaPublisherMessages

__all__ = ["OpaPublisherConnector", "OpaPublisherMessages"]
