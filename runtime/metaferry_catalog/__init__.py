"""`metaferry-catalog`: a read API over the open metadata repository, for people and tools.

It reads only through `metaferry_runtime.repository` (import-linter holds it to that), so it runs beside
any repository a connector writes: a SQLite file or the shared PostgreSQL.
"""

__version__ = "0.1.0"
