"""The `search-indexer` connector of the search integration service (see `connector.py`)."""

from metaferry_runtime.connectors.search_indexer.connector import SearchIndexerConnector, SearchIndexerMessages
from metaferry_runtime.connectors.search_indexer.settings import SearchIndexerSettings

__all__ = ["SearchIndexerConnector", "SearchIndexerMessages", "SearchIndexerSettings"]
