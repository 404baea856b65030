"""A full-text index of open metadata elements (Tantivy), for search connectors: what the search-indexer
connector writes, and what `metaferry-runtime search` and the connector's `GET /search` read.

`catching_up()`: fewer garbage-collector passes while a listener works through a backlog of out-topic events,
as the runtime does during a refresh (decoding events allocates objects that reference counting frees).
"""

from metaferry_runtime.repository.sql.collector import fewer_collections as catching_up
from metaferry_runtime.sdk.search.index import SearchHit, SearchIndex, SearchIndexError, SearchResults, index_directory

__all__ = ["SearchHit", "SearchIndex", "SearchIndexError", "SearchResults", "catching_up", "index_directory"]
