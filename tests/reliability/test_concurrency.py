"""Two ``descentlab run`` processes writing into one store at the same time: different experiments, or one
experiment with different memory budgets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

from descentlab.engine import Plan, run_spec, spec_from_dict
from descentlab.engine.executors import ProgramCache, blocks_per_call, memory_per_run
from descentlab.engine.runner import chunk_sizes
from descentlab.engine.search import to_toml
from descentlab.store import Store, query
from descentlab.store.schema import results_only
from tests.reliability._procs import check_store_readable, environment, start_run


def spec(name: str, rates: list[float]) -> dict:
    return {
        "name": name,
        "problem": {"name": "least_squares", "dim": 8, "noise": 0.1},
        "optimizer": {"name": "sgd", "learning_rate": {"grid": rates}},
        "run": {"steps": 30, "seeds": 16, "checkpoints": 4, "chunk_size": 4, "vmap_width": 4},
    }


def test_two_writers_both_complete_and_the_catalog_shows_both_whole(tmp_path):
    store = tmp_path / "store"
    specs = {"writer-a": spec("writer-a", [0.1, 0.2]), "writer-b": spec("writer-b", [0.05, 0.3, 0.6])}
    processes = []
    for name, body in specs.items():
        path = tmp_path / f"{name}.toml"
        path.write_text(to_toml(body))
        processes.append(start_run(store, path))
    for process in processes:
        output = process.communicate(timeout=300)[0]
        assert process.returncode == 0, output
    assert check_store_readable(store) == 32 + 48
    experiments = query(store, "select name, experiment, status, n_runs from experiments order by name")
    assert experiments["name"].tolist() == ["writer-a", "writer-b"]
    assert (experiments["status"] == "complete").all()
    for _, row in experiments.iterrows():
        assert row["experiment"] == spec_from_dict(specs[row["name"]]).content_hash()
        runs = query(
            store, f"select count(*) as n, count(distinct run) as d from runs where experiment = '{row['experiment']}'"
        )
        assert runs.loc[0, "n"] == runs.loc[0, "d"] == row["n_runs"]


def start_with_budget(store: Path, spec: Path, budget_mb: float) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "descentlab",
        "--store",
        str(store),
        "run",
        str(spec),
        "--no-report",
        "--set",
        f"run.memory_budget_mb={budget_mb}",
    ]
    return subprocess.Popen(command, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_two_runs_of_one_spec_with_different_memory_budgets_store_every_run_once(tmp_path):
    """Chunk boundaries depend on the spec alone: the budget changes only how many vmap blocks run per call."""
    body = {
        "name": "one-spec-twice",
        "problem": {"name": "least_squares", "dim": 8, "noise": 0.1},
        "optimizer": {"name": "sgd", "learning_rate": {"grid": [0.05, 0.1, 0.2, 0.4]}},
        "run": {"steps": 200, "seeds": 256, "checkpoints": 100, "vmap_width": 8},
    }
    spec = spec_from_dict(body)
    the_plan = Plan.from_spec(spec)
    cache = ProgramCache(spec, the_plan)
    ((size, width),) = chunk_sizes(spec, the_plan, cache).values()
    assert size < the_plan.n_runs, "the spec must span several chunks"
    device, host = memory_per_run(spec, cache.program(0))
    budgets = {"roomy": 4096.0, "tight": (size * host + 2 * width * device) / 2**20}
    calls = {
        name: blocks_per_call(
            spec_from_dict({**body, "run": {**body["run"], "memory_budget_mb": mb}}), cache.program(0), size, width
        )
        for name, mb in budgets.items()
    }
    assert calls["roomy"] > calls["tight"] >= 1
    path = tmp_path / "spec.toml"
    path.write_text(to_toml(body))
    store = tmp_path / "store"
    processes = [start_with_budget(store, path, mb) for mb in budgets.values()]
    for process in processes:
        output = process.communicate(timeout=300)[0]
        assert process.returncode == 0, output
    counts = query(store, "select count(*) as n, count(distinct run) as d from runs")
    assert counts.loc[0, "n"] == counts.loc[0, "d"] == the_plan.n_runs
    assert check_store_readable(store) == the_plan.n_runs
    assert Store(store).status(spec.content_hash()) == "complete"
    reference = run_spec(spec, tmp_path / "reference").experiment
    for table in ("runs", "curves"):
        pd.testing.assert_frame_equal(
            results_only(Store(store).read(reference, table)),
            results_only(Store(tmp_path / "reference").read(reference, table)),
            check_exact=True,
        )
