"""Results on disk: Parquet written atomically, a DuckDB catalog over it (see :mod:`.store`), and the
tables' layout (:mod:`.schema`).

Names are imported on first use, so that reading the schema loads neither PyArrow nor DuckDB.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from descentlab.store.catalog import connect, query
    from descentlab.store.store import Store

_HOME = {"Store": "descentlab.store.store", "connect": "descentlab.store.catalog", "query": "descentlab.store.catalog"}

__all__ = ["Store", "connect", "query"]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'descentlab.store' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOME[name]), name)
