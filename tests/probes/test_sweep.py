"""Probes under jax.vmap across a sweep (traced problem hyperparameters), and through the engine into curves."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from descentlab.engine import run_spec, spec_from_dict
from descentlab.probes import PROBES
from descentlab.problems.least_squares import LeastSquares
from descentlab.store import Store
from tests.probes.probes_testkit import context

DIM = 6
PROBE_SET = [
    ("loss", {}),
    ("sharpness", {"k": 2, "iterations": DIM}),
    ("hessian_density", {"bins": 4, "low": 0.0, "high": 1.0, "vectors": 2, "iterations": DIM}),
    ("noise_scale", {}),
    ("teacher_overlap", {}),
    ("spectral_energy", {"bands": 3, "spacing": "linear"}),
    ("weights", {}),
    ("temperature", {"window": 3}),
]


def one_run(alpha, theta, key):
    """Two checkpoints of every probe in PROBE_SET for least squares with a (possibly traced) alpha."""
    problem = LeastSquares(dim=DIM, spectrum="power_law", alpha=alpha)
    batch = problem.sample(key, 128)
    probes = [PROBES.get(name).factory(**options) for name, options in PROBE_SET]
    ctx = context(problem, theta, batch, last_update=0.1 * theta)
    ctx = ctx._replace(key=key)
    states = [p.init(ctx) for p in probes]
    out = {}
    for _ in range(2):
        out = {}
        new_states = []
        for probe, state in zip(probes, states, strict=True):
            values, state = probe.measure(ctx, state)
            out.update(values)
            new_states.append(state)
        states = new_states
    return out, batch["x"]


def test_probes_vmap_over_a_sweep_equal_single_runs_and_known_answers():
    alphas = jnp.array([0.5, 1.0, 2.0])
    thetas = jax.random.normal(jax.random.PRNGKey(0), (3, DIM))
    keys = jax.random.split(jax.random.PRNGKey(1), 3)
    batched, _ = jax.jit(jax.vmap(one_run))(alphas, thetas, keys)
    single = jax.jit(one_run)
    for i in range(3):
        out, x = single(alphas[i], thetas[i], keys[i])
        for name, value in out.items():
            np.testing.assert_allclose(np.asarray(batched[name][i]), np.asarray(value), rtol=2e-4, atol=1e-6,
                                       err_msg=name)
        # known answer: the Hessian of the eval-batch loss is XᵀX/n
        x = np.asarray(x, np.float64)
        eigs = np.linalg.eigvalsh(x.T @ x / x.shape[0])[::-1]
        np.testing.assert_allclose([float(batched["sharpness_1"][i]), float(batched["sharpness_2"][i])], eigs[:2],
                                   rtol=1e-4)
        # SLQ: a probability measure supported in the spectrum's hull (its mean is a Hutchinson estimate)
        mass = sum(float(batched[f"hessian_density_{b}"][i]) for b in ("bin_00", "bin_01", "bin_02", "bin_03",
                                                                       "below", "above"))
        np.testing.assert_allclose(mass, 1.0, rtol=1e-5)
        assert eigs[-1] - 1e-5 <= float(batched["hessian_density_mean"][i]) <= eigs[0] + 1e-5
    # the traced alpha really changes the problem across the sweep
    assert len({round(float(v), 4) for v in batched["sharpness"]}) == 3


def test_probe_values_land_in_the_curves_table(tmp_path):
    spec = spec_from_dict({
        "name": "probes",
        "problem": {"name": "least_squares", "dim": 8, "spectrum": "power_law", "noise": 0.1},
        "optimizer": {"name": "sgd", "learning_rate": {"grid": [0.2, 0.5]}},
        "run": {"steps": 20, "seeds": 2, "checkpoints": 3},
        "probes": ["metrics", "loss", {"name": "sharpness", "k": 2, "iterations": 8}, "noise_scale",
                   "teacher_overlap", "weights"],
    })
    summary = run_spec(spec, tmp_path)
    curves = Store(tmp_path).read(summary.experiment, "curves")
    metrics = set(curves.metric)
    for name in ("sharpness", "sharpness_2", "noise_scale", "overlap_m", "weight_norm", "update_ratio",
                 "population_risk", "loss"):
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
    spec = spec_from_dict({
        "name": "update-ratio",
        "problem": {"name": "quadratic", "dim": 1, "condition_number": 1.0},
        "optimizer": {"name": "sgd", "learning_rate": {"grid": [0.1, 0.3]}},
        "run": {"steps": 12, "seeds": 2, "checkpoints": [0, 5, 6, 7, 12], "dtype": "float64"},
        "probes": ["weights"],
    })
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
        return spec_from_dict({
            "name": "every",
            "problem": {"name": "least_squares", "dim": 8, "spectrum": "power_law", "noise": 0.1},
            "optimizer": {"name": "sgd", "learning_rate": {"grid": [0.2, 0.5]}},
            "run": {"steps": 40, "seeds": 2, "checkpoints": list(range(0, 41, 5))},
            "probes": ["loss", probe],
        })

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
        spec_from_dict({
            "name": "every", "problem": {"name": "least_squares", "dim": 4},
            "optimizer": {"name": "sgd", "learning_rate": 0.1}, "run": {"steps": 10},
            "probes": [{"name": "loss", "every": 0}],
        })
