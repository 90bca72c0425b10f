"""The DuckDB catalog: every stored experiment as SQL views ``experiments``, ``runs``, ``curves``, ``verdicts``,
``theory`` (predicted curves; the tables are described in :mod:`descentlab.store.schema`).

The Parquet files a view reads are the ones the :class:`~descentlab.store.Store` vouches for (its
readable experiments and the chunks that pass their check), opened by PyArrow as datasets and
registered with DuckDB; nothing is copied, and a chunk appears as soon as its folder is renamed
into place. Files of different schemas (experiments with different hyperparameter columns) are
registered one dataset per schema and joined with ``UNION ALL BY NAME``.

The connection is confined by DuckDB itself, not by inspecting the SQL: it is in memory, external
access is off (no file, URL or extension is opened by a query — ``read_csv('/etc/passwd')``,
``COPY … TO``, ``ATTACH``, ``INSTALL`` and persistent secrets all fail with a permission error),
Python replacement scans are off, and the configuration is locked before any user SQL runs. On top
of that, :func:`query` accepts exactly one ``SELECT`` (or ``EXPLAIN`` of one).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from descentlab.store.store import CURVES, EXPERIMENT, RUNS, THEORY, VERDICTS, Store

VIEWS = ("experiments", "runs", "curves", "verdicts", "theory")

EMPTY = {
    "experiments": "SELECT NULL::VARCHAR AS experiment, NULL::VARCHAR AS name WHERE false",
    "runs": "SELECT NULL::VARCHAR AS experiment, NULL::BIGINT AS run, NULL::VARCHAR AS name WHERE false",
    "curves": (
        "SELECT NULL::VARCHAR AS experiment, NULL::BIGINT AS run, NULL::BIGINT AS step, "
        "NULL::VARCHAR AS metric, NULL::DOUBLE AS value WHERE false"
    ),
    "verdicts": (
        "SELECT NULL::VARCHAR AS experiment, NULL::VARCHAR AS claim, NULL::BOOLEAN AS passed, "
        "NULL::DOUBLE AS figure WHERE false"
    ),
    "theory": (
        "SELECT NULL::VARCHAR AS experiment, NULL::BIGINT AS step, NULL::DOUBLE AS value, "
        "NULL::VARCHAR AS prediction, NULL::VARCHAR AS curve WHERE false"
    ),
}

CONFINED = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "python_enable_replacements": False,
}


class ReadOnlyQueryError(ValueError):
    pass


def view_files(store: Store) -> dict[str, list[Path]]:
    """The Parquet files behind each view: those of readable experiments and of chunks that pass their check."""
    files: dict[str, list[Path]] = {view: [] for view in VIEWS}
    for experiment in store.experiments():
        folder = store.experiment_dir(experiment)
        files["experiments"].append(folder / EXPERIMENT)
        for view, name in (("verdicts", VERDICTS), ("theory", THEORY)):
            if (folder / name).is_file():
                files[view].append(folder / name)
        for chunk in store.chunk_dirs(experiment):
            files["runs"].append(chunk / RUNS)
            files["curves"].append(chunk / CURVES)
    return files


def _datasets(paths: Sequence[Path]) -> list[ds.Dataset]:
    """One dataset per distinct schema; dictionary-encoded strings read as plain strings."""
    by_schema: dict[pa.Schema, list[str]] = defaultdict(list)
    for path in paths:
        try:
            schema = pq.read_schema(path)
        except (OSError, pa.ArrowException):
            continue  # changed since the store checked it; the next look reports it
        plain = pa.schema([f.with_type(f.type.value_type) if pa.types.is_dictionary(f.type) else f for f in schema])
        by_schema[plain].append(str(path))
    return [ds.dataset(files, schema=schema, format="parquet") for schema, files in by_schema.items()]


def connect(root: str | Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the store's views defined, confined (see the module docstring)."""
    store = Store(root)
    con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    for view, paths in view_files(store).items():
        parts = []
        for i, dataset in enumerate(_datasets(paths)):
            con.register(f"_{view}_{i}", dataset)
            parts.append(f"SELECT * FROM _{view}_{i}")
        con.execute(f"CREATE VIEW {view} AS {' UNION ALL BY NAME '.join(parts) if parts else EMPTY[view]}")
    for key, value in CONFINED.items():
        con.execute(f"SET {key} = {str(value).lower()}")
    con.execute("SET lock_configuration = true")
    return con


def _check_read_only(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    statements = con.extract_statements(sql)
    if len(statements) != 1:
        raise ReadOnlyQueryError(f"expected exactly one SQL statement, got {len(statements)}")
    kind = statements[0].type
    if kind not in (duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN):
        raise ReadOnlyQueryError(f"only SELECT queries are allowed (got {kind.name}); the store is read-only")


def query(root: str | Path, sql: str, params: Sequence[Any] | None = None):
    """Run one read-only statement (SELECT, WITH … SELECT, EXPLAIN…) and return a pandas DataFrame.

    Args:
      root: the store folder.
      sql: one statement; values from users go in ``params`` (``?`` placeholders), never into ``sql``.
      params: positional parameters bound by DuckDB.

    Raises:
      ReadOnlyQueryError: more than one statement, or one that is not a query.
      duckdb.Error: the query failed (a permission error for anything outside the catalog).
    """
    con = connect(root)
    try:
        _check_read_only(con, sql)
        return con.execute(sql, params or []).df()
    finally:
        con.close()
