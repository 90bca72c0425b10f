"""The DuckDB catalog: every stored experiment as SQL views ``experiments``, ``runs``, ``curves``, ``verdicts``.

Views read the Parquet files directly (``read_parquet`` over globs, ``union_by_name`` so that
experiments with different hyperparameter columns line up), so the catalog is always current:
nothing is copied, and a chunk appears in a view as soon as its folder is renamed into place.
The connection is in-memory and the store is only read — ``descentlab query`` cannot modify it.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from descentlab.store.store import CURVES, EXPERIMENT, RUNS, VERDICTS

VIEWS = {
    "experiments": f"*/{EXPERIMENT}",
    "runs": f"*/chunks/*/{RUNS}",
    "curves": f"*/chunks/*/{CURVES}",
    "verdicts": f"*/{VERDICTS}",
}

EMPTY = {
    "experiments": "SELECT NULL::VARCHAR AS experiment, NULL::VARCHAR AS name WHERE false",
    "runs": "SELECT NULL::VARCHAR AS experiment, NULL::BIGINT AS run, NULL::VARCHAR AS name WHERE false",
    "curves": ("SELECT NULL::VARCHAR AS experiment, NULL::BIGINT AS run, NULL::BIGINT AS step, "
               "NULL::VARCHAR AS metric, NULL::DOUBLE AS value WHERE false"),
    "verdicts": ("SELECT NULL::VARCHAR AS experiment, NULL::VARCHAR AS claim, NULL::BOOLEAN AS passed, "
                 "NULL::DOUBLE AS figure WHERE false"),
}


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def connect(root: str | Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the store's views defined."""
    root = Path(root).resolve()
    con = duckdb.connect(":memory:")
    for view, pattern in VIEWS.items():
        if any(root.glob(pattern)):
            source = f"SELECT * FROM read_parquet({_quote(root / pattern)}, union_by_name = true)"
        else:
            source = EMPTY[view]
        con.execute(f"CREATE VIEW {view} AS {source}")
    return con


class ReadOnlyQueryError(ValueError):
    pass


def query(root: str | Path, sql: str):
    """Run one read-only statement (SELECT, WITH … SELECT, EXPLAIN…) and return a pandas DataFrame.

    Anything else (COPY, CREATE, INSERT, ATTACH, PRAGMA, SET …) is refused before it runs, so a
    query can never write into the store.
    """
    con = connect(root)
    try:
        statements = con.extract_statements(sql)
        if len(statements) != 1:
            raise ReadOnlyQueryError(f"expected exactly one SQL statement, got {len(statements)}")
        kind = statements[0].type
        if kind not in (duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN):
            raise ReadOnlyQueryError(f"only SELECT queries are allowed (got {kind.name}); the store is read-only")
        return con.execute(sql).df()
    finally:
        con.close()
