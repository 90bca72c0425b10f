"""Ctrl-C in ``descentlab run``: one line saying how many runs are stored, exit status 130, no traceback."""

from __future__ import annotations

import signal

from descentlab.engine.search import to_toml
from descentlab.store import Store
from tests.reliability._procs import check_store_readable, start_run_after

SPEC = {
    "name": "interrupted-run",
    "problem": {"name": "least_squares", "dim": 64},
    "optimizer": {"name": "sgd", "learning_rate": {"grid": [0.01, 0.02]}},
    "run": {"steps": 100_000, "seeds": 8, "chunk_size": 4, "vmap_width": 4},
}
N_RUNS = 16  # 4 chunks of a few seconds each: Ctrl-C after the first lands inside a running compiled program


def test_ctrl_c_prints_one_line_and_exits_130(tmp_path):
    spec_file = tmp_path / "spec.toml"
    spec_file.write_text(to_toml(SPEC))
    store = tmp_path / "store"
    process = start_run_after(store, spec_file, chunks=1)
    process.send_signal(signal.SIGINT)
    output = process.communicate(timeout=120)[0]
    assert process.returncode == 130, output
    assert "Traceback" not in output and "Aborted" not in output, output
    stored = check_store_readable(store)
    assert 0 < stored < N_RUNS
    lines = [line for line in output.splitlines() if line.startswith("interrupted")]
    assert lines == [f"interrupted; {stored} runs stored, re-run to resume"], output
    (experiment,) = Store(store).experiments()
    assert Store(store).status(experiment) == "interrupted"
