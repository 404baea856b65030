"""The `openlineage-receiver` connector of the lineage integration service (see `connector.py`)."""

from metaferry_runtime.connectors.openlineage_receiver.connector import (
    OpenLineageReceiverConnector,
    ReceiverMessages,
    ReceiverSettings,
)

__all__ = ["OpenLineageReceiverConnector", "ReceiverMessages", "ReceiverSettings"]
