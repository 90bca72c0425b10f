"""Times the engine records: each run's chunk time per step, and an experiment's seconds summed over resumes.

One experiment of 6 runs in 3 chunks is interrupted after its first chunk (Ctrl-C from the progress callback),
resumed, re-run with nothing left to do, and forced; its row must keep the interrupted invocation's seconds,
its report must say they are summed, and its results must not depend on the timing column.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from descentlab.engine import run_spec, spec_from_dict
from descentlab.report.html import summed_over, write_report
from descentlab.store import Store
from descentlab.store.schema import SECONDS_PER_STEP, TIMING, results_only, swept_axes
from tests.conftest import small_spec_dict

TIMES = ("compile_seconds", "run_seconds", "store_seconds")


def _times(row: dict) -> dict:
    return {key: row[key] for key in (*TIMES, "invocations")}


@pytest.fixture(scope="module")
def resumed(tmp_path_factory):
    """(store, spec, rows and summaries of: the interrupted, resumed, idle re-run and forced invocations)."""
    root = tmp_path_factory.mktemp("timings")
    spec = spec_from_dict(small_spec_dict(run={"steps": 60, "seeds": 3, "chunk_size": 2, "vmap_width": 2}))
    store = Store(root)

    def stop_after_first_chunk(done: int, total: int, diverged: int) -> None:
        if done >= 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_spec(spec, store, progress=stop_after_first_chunk)
    experiment = spec.content_hash()
    rows, summaries = [store.experiment_row(experiment)], [None]
    runs_before = store.read(experiment, "runs")
    for force in (False, False, True):
        summaries.append(run_spec(spec, store, force=force))
        rows.append(store.experiment_row(experiment))
        if not force:
            runs_resumed = store.read(experiment, "runs")
    return store, experiment, rows, summaries, runs_before, runs_resumed


def test_a_resumed_experiment_keeps_its_earlier_seconds(resumed):
    _, _, (stopped, resumed_row, idle, forced), summaries, _, _ = resumed
    assert stopped["status"] == "interrupted" and stopped["invocations"] == 1
    assert stopped["compile_seconds"] > 0 and stopped["run_seconds"] > 0 and stopped["store_seconds"] > 0
    assert resumed_row["status"] == "complete" and resumed_row["invocations"] == 2
    second = summaries[1]
    assert (second.computed, second.skipped) == (4, 2)
    for key in TIMES:  # the interrupted invocation's seconds plus the resumed one's
        assert resumed_row[key] == pytest.approx(stopped[key] + getattr(second, key), rel=1e-12)
        assert resumed_row[key] > getattr(second, key)
    assert summaries[2].computed == 0
    assert _times(idle) == _times(resumed_row)  # nothing computed: nothing added, no invocation counted
    third = summaries[3]
    assert forced["invocations"] == 1  # force starts the sums again
    for key in TIMES:
        assert forced[key] == pytest.approx(getattr(third, key), rel=1e-12)


def test_the_report_of_a_resumed_experiment_shows_the_summed_seconds(resumed, tmp_path):
    store, experiment, rows, _, _, _ = resumed
    resumed_row = rows[1]
    # rows[1] is the resumed state; the store now holds the forced one: write the report from a resumed row
    store.write_experiment(experiment, resumed_row)
    page = html.unescape(write_report(store, experiment, tmp_path / "report").read_text())
    run_seconds = f"{resumed_row['run_seconds']:.6g}"
    assert f"run {run_seconds} s (summed over 2 invocations)" in page
    assert f"compile {resumed_row['compile_seconds']:.6g} s" in page
    assert "<th class='l'>invocations</th><td>2</td>" in page
    assert summed_over(rows[0]) == summed_over(rows[3]) == ""  # one invocation: nothing to say
    store.write_experiment(experiment, rows[3])


def test_every_run_records_its_chunks_seconds_per_step(resumed):
    store, experiment, _, summaries, _, _ = resumed
    runs = store.read(experiment, "runs")
    assert runs[SECONDS_PER_STEP].dtype == np.float64
    assert (runs[SECONDS_PER_STEP] > 0).all() and np.isfinite(runs[SECONDS_PER_STEP]).all()
    chunks = store.chunk_dirs(experiment)
    assert len(chunks) == 3
    per_chunk = []
    for chunk in chunks:
        values = pq.read_table(chunk / "runs.parquet", columns=[SECONDS_PER_STEP]).column(0).to_numpy()
        assert len(values) == 2 and values[0] == values[1]  # the runs of a chunk share its time
        per_chunk.append(values[0])
    steps = store.experiment_row(experiment)["steps"]
    # the chunks' seconds per step add up to the invocation's run seconds (all 3 chunks were computed by it)
    assert sum(per_chunk) * steps == pytest.approx(summaries[3].run_seconds, rel=1e-9)
    assert SECONDS_PER_STEP not in swept_axes(runs)  # a time is never a swept axis
    assert SECONDS_PER_STEP in TIMING and SECONDS_PER_STEP not in results_only(runs)


def test_results_are_bit_identical_whatever_the_timing(resumed):
    store, experiment, _, _, before, after_resume = resumed
    forced = store.read(experiment, "runs")
    assert not np.array_equal(forced[SECONDS_PER_STEP], after_resume[SECONDS_PER_STEP])  # measured again
    pd.testing.assert_frame_equal(results_only(forced), results_only(after_resume), check_exact=True)
    stored_first = after_resume[after_resume["run"].isin(before["run"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(results_only(stored_first), results_only(before), check_exact=True)
