"""SqlTransaction: the repository's semantics over a write-behind record cache, assembled from its parts.

- base.py: the shared state (connection, caches, events, clock), flush and commit;
- elements.py, observation.py, relationships.py: the writes, each checking the repository's rules (rules.py);
- retrieval.py: the reads;
- cache.py: the record cache, one per record kind; events.py: the out-topic events; connection.py: the
  connection guarded against `abort()` from another thread.
"""

from __future__ import annotations

from metaferry_runtime.repository.sql.transaction.observation import Observation
from metaferry_runtime.repository.sql.transaction.relationships import RelationshipWrites
from metaferry_runtime.repository.sql.transaction.retrieval import Retrieval


class SqlTransaction(Observation, RelationshipWrites, Retrieval):
    """One open database transaction on a connection of its own. Use it from the thread that opened it;
    only `abort()` may be called from another thread."""
