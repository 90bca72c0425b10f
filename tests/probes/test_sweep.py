"""Every registered probe (PROBE_TABLE) under jax.vmap across a sweep of traced problem hyperparameters, and
through the engine into curves."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from descentlab.engine import run_spec, spec_from_dict
from descentlab.probes import PROBES
from descentlab.problems.least_squares import LeastSquares
from descentlab.store import Store
from tests.probes.probes_testkit import CASES, PROBE_TABLE, case_run, probes_of


def test_every_registered_probe_has_a_problem_it_can_serve():
    """PROBE_TABLE (tests/probes/probes_testkit.py) names a case for every registered probe, and only those."""
    registered = set(PROBES.names())
    missing = sorted(registered - set(PROBE_TABLE))
    assert not missing, (
        f"probes {missing} have no entry in PROBE_TABLE (tests/probes/probes_testkit.py): give each a case from CASES "
        f"whose problem it can serve (or a new case) and small options, so the sweep tests below cover it"
    )
    assert not sorted(set(PROBE_TABLE) - registered), "PROBE_TABLE names probes that are not registered"
    unknown = {name: case for name, (case, _) in PROBE_TABLE.items() if case not in CASES}
    assert not unknown, f"PROBE_TABLE names cases that CASES does not define: {unknown}"


@pytest.mark.parametrize("case", sorted(CASES))
def test_probes_vmap_over_a_sweep_equal_single_runs(case):
    """Every probe of the case, with the problem's hyperparameter traced across a sweep: the vmapped values equal
    single runs, every value is finite at the last checkpoint, every probe reports something, and no two probes
    report one metric."""
    spec, probes = CASES[case], probes_of(case)
    assert probes, f"no probe uses case {case!r}: drop it from CASES"

    def run(hyper, key):
        return case_run(spec, probes, hyper, key)

    values = jnp.asarray(spec.sweep[1])
    keys = jax.random.split(jax.random.PRNGKey(1), len(values))
    batched, batches = jax.jit(jax.vmap(run))(values, keys)
    single = jax.jit(run)
    for i in range(len(values)):
        alone, _ = single(values[i], keys[i])
        assert set(batched) == set(alone)
        for metric, value in alone.items():
            value = np.asarray(value)  # (checkpoints,); temperature is NaN until two checkpoints are in its window
            assert np.all(np.isfinite(value[-1])), f"{metric} = {value[-1]} at the last checkpoint"
            np.testing.assert_allclose(np.asarray(batched[metric][i]), value, rtol=2e-4, atol=1e-6, err_msg=metric)
    reported = {name: [m.split("/", 1)[1] for m in batched if m.split("/", 1)[0] == name] for name in probes}
    silent = sorted(name for name, metrics in reported.items() if not metrics)
    assert not silent, f"probes {silent} report nothing on {case}: it does not serve them"
    metrics = [m for names in reported.values() for m in names]
    assert len(metrics) == len(set(metrics)), f"two probes report one metric: {sorted(metrics)}"
    if case == "least_squares":
        _least_squares_known_answers(batched, batches)


def _least_squares_known_answers(batched, batches):
    """The Hessian of the eval-batch loss is XᵀX/n: sharpness gives its top eigenvalues, the SLQ density is a
    probability measure in its spectrum's hull, and the traced alpha really changes the problem across the sweep."""
    out = {metric: np.asarray(value) for metric, value in batched.items()}  # (runs, checkpoints)
    for i, x in enumerate(np.asarray(batches["x"], np.float64)):
        eigs = np.linalg.eigvalsh(x.T @ x / x.shape[0])[::-1]
        for t in range(out["sharpness/sharpness"].shape[1]):
            np.testing.assert_allclose(
                [out["sharpness/sharpness_1"][i, t], out["sharpness/sharpness_2"][i, t]], eigs[:2], rtol=1e-4
            )
            mass = sum(
                out[f"hessian_density/hessian_density_{b}"][i, t]
                for b in ("bin_00", "bin_01", "bin_02", "bin_03", "below", "above")
            )
            np.testing.assert_allclose(mass, 1.0, rtol=1e-5)
            assert eigs[-1] - 1e-5 <= out["hessian_density/hessian_density_mean"][i, t] <= eigs[0] + 1e-5
    assert len({round(float(v), 4) for v in out["sharpness/sharpness"][:, -1]}) == 3


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_engine_accepts_every_probe_of_a_case(case):
    """Through the engine's spec and program (traced, not compiled), each case records its probes' metrics."""
    from descentlab.engine import Plan

    spec_case, probes = CASES[case], probes_of(case)
    spec = spec_from_dict(
        {
            "name": f"probe-table-{case}",
            "problem": {"name": spec_case.problem, **spec_case.options},
            "optimizer": {"name": spec_case.optimizer, "learning_rate": 0.05},
            "run": {"steps": 4, "checkpoints": 2},
            "probes": [{"name": name, **options} for name, options in probes.items()],
        }
    )
    measured, _ = jax.eval_shape(lambda h, k: case_run(spec_case, probes, h, k), 1.0, jax.random.PRNGKey(0))
    expected = {metric.split("/", 1)[1] for metric in measured}
    missing = expected - Plan.from_spec(spec).metrics
    assert not missing, f"the engine does not record {sorted(missing)}"


def test_probe_values_land_in_the_curves_table(tmp_path):
    spec = spec_from_dict(
        {
            "name": "probes",
            "problem": {"name": "least_squares", "dim": 8, "spectrum": "power_law", "noise": 0.1},
            "optimizer": {"name": "sgd", "learning_rate": {"grid": [0.2, 0.5]}},
            "run": {"steps": 20, "seeds": 2, "checkpoints": 3},
            "probes": [
                "metrics",
                "loss",
                {"name": "sharpness", "k": 2, "iterations": 8},
                "noise_scale",
                "teacher_overlap",
                "weights",
            ],
        }
    )
    summary = run_spec(spec, tmp_path)
    curves = Store(tmp_path).read(summary.experiment, "curves")
    metrics = set(curves.metric)
    for name in (
        "sharpness",
        "sharpness_2",
        "noise_scale",
        "overlap_m",
        "weight_norm",
        "update_ratio",
        "population_risk",
        "loss",
    ):
        assert name in metrics, name
    sharp = curves[curves.metric == "sharpness"]["value"].to_numpy()
    assert len(sharp) == 4 * len(set(curves.step)) and np.all(np.isfinite(sharp))
    # eval batch of 1024 Gaussian draws: the Hessian XᵀX/n is close to K, whose top eigenvalue is 1/H_8
    lam_max = float(LeastSquares(dim=8, spectrum="power_law").eigenvalues[0])
    assert np.all(np.abs(sharp / lam_max - 1.0) < 0.25)
    ratio = curves[(curves.metric == "update_ratio") & (curves.step > 0)]["value"].to_numpy()
    assert np.all(ratio > 0)


def test_update_ratio_is_the_last_step_of_each_segment(tmp_path):
    """update_ratio at a checkpoint is ‖θ_t − θ_{t−1}‖/‖θ_t‖ of the step just before it, whatever the
    segment's length (1 step or several): in one dimension, GD on a quadratic moves θ monotonically, so
    it equals (‖θ_{t−1}‖ − ‖θ_t‖)/‖θ_t‖ read from the weight norms at consecutive checkpoints."""
    spec = spec_from_dict(
        {
            "name": "update-ratio",
            "problem": {"name": "quadratic", "dim": 1, "condition_number": 1.0},
            "optimizer": {"name": "sgd", "learning_rate": {"grid": [0.1, 0.3]}},
            "run": {"steps": 12, "seeds": 2, "checkpoints": [0, 5, 6, 7, 12], "dtype": "float64"},
            "probes": ["weights"],
        }
    )
    summary = run_spec(spec, tmp_path)
    curves = Store(tmp_path).read(summary.experiment, "curves")
    for _, run in curves.groupby("run"):
        norm = run[run.metric == "weight_norm"].set_index("step")["value"]
        ratio = run[run.metric == "update_ratio"].set_index("step")["value"]
        assert ratio[0] == 0.0  # no update applied yet
        for t in (6, 7):
            np.testing.assert_allclose(ratio[t], (norm[t - 1] - norm[t]) / norm[t], rtol=1e-10)
        # a 5-step segment reports its last step only: GD contracts by (1 − η) per step on f = θ²/2
        np.testing.assert_allclose(ratio[12], ratio[7], rtol=1e-10)


def test_probe_every_k_checkpoints_measures_only_there_and_skips_the_work(tmp_path):
    """``every = 3``: values at checkpoints 0, 3, 6 … and the last, equal to those measured at every
    checkpoint; nothing stored elsewhere; and the program branches (``conditional``) rather than
    computing the probe everywhere and selecting, though the runs are vmapped."""
    from descentlab.engine.executors import ProgramCache

    def spec(every):
        probe = {"name": "sharpness", "iterations": 8} | ({"every": every} if every else {})
        return spec_from_dict(
            {
                "name": "every",
                "problem": {"name": "least_squares", "dim": 8, "spectrum": "power_law", "noise": 0.1},
                "optimizer": {"name": "sgd", "learning_rate": {"grid": [0.2, 0.5]}},
                "run": {"steps": 40, "seeds": 2, "checkpoints": list(range(0, 41, 5))},
                "probes": ["loss", probe],
            }
        )

    stores = {}
    for every in (None, 3):
        summary = run_spec(spec(every), tmp_path / str(every))
        curves = Store(tmp_path / str(every)).read(summary.experiment, "curves")
        stores[every] = curves[curves.metric == "sharpness"].set_index(["run", "step"])["value"].sort_index()
    steps = sorted({s for _, s in stores[3].index})
    assert steps == [0, 15, 30, 40]  # checkpoint indices 0, 3, 6 and the last (8)
    np.testing.assert_array_equal(stores[3].to_numpy(), stores[None].loc[stores[3].index].to_numpy())
    program = ProgramCache(spec(3)).program(0)
    hlo = program.batched(2).lower(*program.example_inputs(2, np.float32)).as_text()
    assert "stablehlo.case" in hlo or "conditional" in hlo


def test_probe_every_is_validated():
    from descentlab.params import SpecError

    with pytest.raises(SpecError, match=r"probes\[0\]\.every"):
        spec_from_dict(
            {
                "name": "every",
                "problem": {"name": "least_squares", "dim": 4},
                "optimizer": {"name": "sgd", "learning_rate": 0.1},
                "run": {"steps": 10},
                "probes": [{"name": "loss", "every": 0}],
            }
        )
