"""The `catalog-exchange` connector of the catalog integration service (see `connector.py`)."""

from metaferry_runtime.connectors.catalog_exchange.connector import CatalogExchangeConnector, CatalogExchangeMessages

__all__ = ["CatalogExchangeConnector", "CatalogExchangeMessages"]
