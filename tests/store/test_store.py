"""The store: three tables, SQL over them, atomic chunks, resume, force, read-only queries."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from descentlab.engine import run_spec, spec_from_dict
from descentlab.store import Store, query
from descentlab.store.catalog import ReadOnlyQueryError
from tests.conftest import small_spec_dict


@pytest.fixture
def stored(tmp_path):
    spec = spec_from_dict(small_spec_dict(run={"chunk_size": 2, "vmap_width": 2}))
    summary = run_spec(spec, tmp_path)
    return Store(tmp_path), spec, summary


def test_three_tables_and_sql(stored):
    store, _spec, _summary = stored
    exp = query(store.root, "select * from experiments")
    assert len(exp) == 1 and exp.status[0] == "complete" and exp.n_runs[0] == 6
    for column in ("spec", "versions", "device", "compile_seconds", "run_seconds", "created_at"):
        assert column in exp.columns
    runs = query(store.root, "select * from runs order by run")
    assert runs.run.tolist() == list(range(6))
    assert {
        "name",
        "seed",
        "status",
        "divergence_step",
        "optimizer_learning_rate",
        "problem_dim",
        "final_population_risk",
    } <= set(runs.columns)
    joined = query(
        store.root,
        """
        select r.optimizer_learning_rate as lr, avg(c.value) as risk
        from curves c join runs r using (experiment, run)
        where c.metric = 'population_risk' and c.step = (select max(step) from curves)
        group by lr order by lr""",
    )
    assert joined.lr.tolist() == [0.2, 0.5]
    assert (joined.risk > 0).all()


def test_resume_recomputes_only_the_missing_chunk(stored):
    store, spec, summary = stored
    before = store.read(summary.experiment, "curves")
    chunks = store.chunk_dirs(summary.experiment)
    assert len(chunks) == 3
    shutil.rmtree(chunks[1])
    again = run_spec(spec, store)
    assert (again.computed, again.skipped) == (2, 4)
    pd.testing.assert_frame_equal(before, store.read(summary.experiment, "curves"), check_exact=True)
    nothing = run_spec(spec, store)
    assert nothing.computed == 0
    forced = run_spec(spec, store, force=True)
    assert forced.computed == 6
    pd.testing.assert_frame_equal(before, store.read(summary.experiment, "curves"), check_exact=True)


def test_leftover_temporary_files_are_never_read(stored):
    store, spec, summary = stored
    tmp = store.experiment_dir(summary.experiment) / "tmp" / "g000-half-written"
    tmp.mkdir(parents=True)
    (tmp / "runs.parquet").write_bytes(b"PAR1 not really")
    assert len(query(store.root, "select * from runs")) == 6
    run_spec(spec, store)
    assert not tmp.exists()


def test_queries_cannot_write(stored):
    store, _, _ = stored
    for sql in (
        f"copy (select 1) to '{store.root}/x.csv'",
        "create table t as select 1",
        "select 1; select 2",
        "attach 'x.db'",
    ):
        with pytest.raises(ReadOnlyQueryError):
            query(store.root, sql)
    assert not (store.root / "x.csv").exists()


def test_empty_store_has_empty_views(tmp_path):
    assert len(query(tmp_path, "select * from runs")) == 0
    assert len(query(tmp_path, "select * from curves")) == 0
