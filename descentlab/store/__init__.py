"""Results on disk: Parquet written atomically, a DuckDB catalog over it (see :mod:`.store`)."""

from descentlab.store.catalog import connect, query
from descentlab.store.store import Store

__all__ = ["Store", "connect", "query"]
