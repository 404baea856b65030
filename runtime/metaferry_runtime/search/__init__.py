"""The full-text index of open metadata (Tantivy): what the search-indexer connector writes and
`metaferry-runtime search` and the connector's `GET /search` read."""

from metaferry_runtime.search.index import SearchHit, SearchIndex, SearchIndexError, SearchResults, index_directory

__all__ = ["SearchHit", "SearchIndex", "SearchIndexError", "SearchResults", "index_directory"]
