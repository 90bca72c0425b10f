"""SIGKILL ``descentlab run`` at random moments (and in the middle of Parquet writes), re-run, compare.

One store goes through a chain of killed runs; after every kill the store must read cleanly (every
chunk whole, no run twice), and after a final uninterrupted re-run its rows must equal, exactly,
those of an uninterrupted run of the same spec into a fresh store — nothing lost, nothing duplicated.
"""

from __future__ import annotations

import random
import signal
import time

import pandas as pd

from descentlab.engine import run_spec, spec_from_dict
from descentlab.engine.search import to_toml
from descentlab.store import Store, query
from descentlab.store.schema import results_only
from tests.reliability._procs import check_store_readable, chunk_count, start_run

SPEC = {
    "name": "killed-runs",
    "problem": {"name": "least_squares", "dim": 8, "noise": 0.1},
    "optimizer": {"name": "sgd", "learning_rate": {"grid": [0.05, 0.1, 0.2, 0.4]}},
    "run": {"steps": 30, "seeds": 128, "checkpoints": 4, "chunk_size": 2, "vmap_width": 2},
}
N_RUNS = 512  # 256 chunks: long enough that no trial can finish the sweep before its kill
MID_WRITE_TRIALS = 5
RANDOM_TRIALS = 5


def test_killed_runs_lose_and_duplicate_nothing(tmp_path):
    spec_file = tmp_path / "spec.toml"
    spec_file.write_text(to_toml(SPEC))
    store = tmp_path / "store"
    rng = random.Random(20240209)
    killed = 0
    for trial in range(MID_WRITE_TRIALS + RANDOM_TRIALS):
        before = chunk_count(store)
        if trial < MID_WRITE_TRIALS:
            # write 1 is experiment.parquet; then two per chunk (curves, runs): die inside one of them
            process = start_run(store, spec_file, kill_at_write=rng.randint(2, 9))
            process.wait(timeout=300)
        else:
            process = start_run(store, spec_file)
            target = before + rng.randint(0, 4)
            deadline = time.monotonic() + 300
            while process.poll() is None and chunk_count(store) < target and time.monotonic() < deadline:
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.05))
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=60)
        assert process.returncode == -signal.SIGKILL, process.stdout.read()
        killed += 1
        stored = check_store_readable(store)
        assert stored < N_RUNS, "the spec must be long enough for every trial to be killed mid-sweep"
    assert killed >= 10

    final = start_run(store, spec_file)
    output = final.communicate(timeout=300)[0]
    assert final.returncode == 0, output
    assert check_store_readable(store) == N_RUNS

    spec = spec_from_dict(SPEC)
    summary = run_spec(spec, tmp_path / "reference")
    experiment = summary.experiment
    got, want = Store(store), Store(tmp_path / "reference")
    for table in ("runs", "curves"):
        a, b = results_only(got.read(experiment, table)), results_only(want.read(experiment, table))
        assert len(a) == len(b) > 0
        assert list(a.columns) == list(b.columns), (set(a.columns) ^ set(b.columns), a.dtypes.to_dict())
        pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_exact=True)
    counts = query(store, "select count(*) as n, count(distinct run) as d from runs")
    assert counts.loc[0, "n"] == counts.loc[0, "d"] == N_RUNS
    assert got.experiment_row(experiment)["status"] == "complete"
