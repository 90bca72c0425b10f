"""The compiled program: vmapped == single run, divergence freezing, determinism, chunk-size invariance."""

from __future__ import annotations

import jax
import numpy as np
import pandas as pd
import pytest

from descentlab.engine import run_spec, spec_from_dict
from descentlab.engine.executors import ProgramCache
from descentlab.store import Store
from tests.conftest import small_spec_dict


def curves_of(store: Store, experiment: str) -> pd.DataFrame:
    return store.read(experiment, "curves")[["run", "step", "metric", "value"]]


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    root = tmp_path_factory.mktemp("store")
    spec = spec_from_dict(
        small_spec_dict(optimizer={"learning_rate": {"grid": [0.2, 0.5, 50.0]}}, run={"chunk_size": 4, "vmap_width": 4})
    )
    summary = run_spec(spec, root)
    return Store(root), spec, summary


def test_vmapped_runs_equal_single_runs(stored):
    store, spec, summary = stored
    cache = ProgramCache(spec)
    program = cache.program(0)
    curves = curves_of(store, summary.experiment)
    single = jax.jit(program.run_one)
    for run in program.group.runs[:6]:
        hp = {k: np.float32(v) for k, v in run.swept.items()}
        out = single(np.int32(run.seed), hp)
        mine = curves[(curves.run == run.index) & (curves.metric == "population_risk")]["value"].to_numpy()
        np.testing.assert_allclose(mine, np.asarray(out["curves"]["population_risk"]), rtol=2e-5)


def test_diverged_runs_are_frozen_and_recorded_while_others_go_on(stored, tmp_path):
    store, spec, summary = stored
    runs = store.read(summary.experiment, "runs")
    big = runs[runs.optimizer_learning_rate == 50.0]
    assert (big.status == "diverged").all()
    assert (big.divergence_step >= 0).all() and (big.divergence_step < spec.run.steps).all()
    assert big.final_population_risk.isna().all()
    curves = curves_of(store, summary.experiment)
    for _, row in big.iterrows():
        steps = curves[curves.run == row.run]["step"]
        assert steps.max() <= row.divergence_step  # nothing recorded after divergence
    # Runs at other step sizes are exactly what they are in a sweep without the diverging value.
    alone = spec_from_dict(small_spec_dict(optimizer={"learning_rate": {"grid": [0.2, 0.5]}}, run={"vmap_width": 4}))
    other = run_spec(alone, tmp_path)
    ok = runs[runs.status == "ok"]
    assert len(ok) == 6 and np.isfinite(ok.final_population_risk).all()
    mine = curves[curves.run.isin(ok.run)].sort_values(["run", "step", "metric"])["value"].to_numpy()
    theirs = curves_of(Store(tmp_path), other.experiment)["value"].to_numpy()
    np.testing.assert_array_equal(mine, theirs)


def test_same_spec_twice_gives_identical_curves_whatever_the_chunk_size(stored, tmp_path):
    store, spec, summary = stored
    again = spec_from_dict({**spec.to_dict(), "run": {**spec.to_dict()["run"], "chunk_size": 9}})
    other = run_spec(again, tmp_path)
    a = curves_of(store, summary.experiment)
    b = curves_of(Store(tmp_path), other.experiment)
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_exact=True)


def test_sgd_decreases_risk_and_common_random_numbers(stored):
    store, _, summary = stored
    runs = store.read(summary.experiment, "runs")
    curves = curves_of(store, summary.experiment)
    first = curves[(curves.step == 0) & (curves.metric == "population_risk")]
    assert np.allclose(first.value, first.value.iloc[0])  # θ₀ = 0: same initial risk everywhere
    ok = runs[runs.status == "ok"]
    assert (ok.final_population_risk < first.value.iloc[0] / 2).all()


def test_float64_and_the_loss_family_of_probes(tmp_path):
    spec = spec_from_dict(
        small_spec_dict(
            run={"steps": 40, "seeds": 2, "dtype": "float64", "checkpoints": 5},
            probes=["metrics", "loss", "grad_norm", "distance"],
        )
    )
    summary = run_spec(spec, tmp_path)
    curves = Store(tmp_path).read(summary.experiment, "curves")
    assert set(curves.metric) == {
        "population_risk",
        "excess_risk",
        "loss",
        "suboptimality",
        "grad_norm",
        "distance_to_optimum",
        "batch_loss",
    }
    assert curves[curves.metric == "batch_loss"].step.min() == 1  # no minibatch before the first step
    assert np.isfinite(curves.value).all()
