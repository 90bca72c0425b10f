"""What a report reads from the store: the curves of the runs it draws, and nothing else.

An experiment of 10⁶ runs holds ~10⁸ curve rows; a report draws a few dozen groups of them.
:func:`read_curves` reads the stored chunks one at a time (through :meth:`Store.chunk_dirs`),
skips the Parquet row groups whose ``run`` statistics exclude every wanted run, and keeps only the
wanted rows, so memory holds the rows drawn plus one chunk.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from descentlab.store import Store
from descentlab.store.store import CURVES

COLUMNS = ["run", "step", "metric", "value"]


def _row_groups(file: pq.ParquetFile, wanted: np.ndarray) -> list[int]:
    """Row groups of ``file`` whose ``run`` range holds one of the sorted ``wanted`` ids (all, without statistics)."""
    column = file.metadata.schema.names.index("run")
    out = []
    for index in range(file.metadata.num_row_groups):
        stats = file.metadata.row_group(index).column(column).statistics
        if (
            stats is None
            or not stats.has_min_max
            or np.searchsorted(wanted, stats.min) < np.searchsorted(wanted, stats.max, side="right")
        ):
            out.append(index)
    return out


def read_curves(store: Store, experiment: str, runs: np.ndarray) -> pd.DataFrame:
    """The curve rows (``run``, ``step``, ``metric``, ``value``) of the runs ``runs`` of ``experiment``."""
    wanted = np.unique(np.asarray(runs, np.int64))
    value_set = pa.array(wanted)
    parts = []
    for chunk in store.chunk_dirs(experiment) if wanted.size else []:
        file = pq.ParquetFile(chunk / CURVES)
        groups = _row_groups(file, wanted)
        if groups:
            table = file.read_row_groups(groups, columns=COLUMNS)
            parts.append(table.filter(pc.is_in(table["run"], value_set=value_set)))
    if not parts:
        return pd.DataFrame({column: [] for column in COLUMNS})
    return pa.concat_tables(parts, promote_options="default").to_pandas()
