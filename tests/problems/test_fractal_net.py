"""The fractal-trainability net: the paper's sizes, the mean-field form, and a boundary in the rate plane."""

import jax
import numpy as np

from descentlab.engine import run_spec, spec_from_dict
from descentlab.problems.fractal_net import FractalNet


def test_paper_setting_has_as_many_points_as_parameters():
    problem = FractalNet()
    data = problem.dataset()
    assert problem.n_params == 272 and data["x"].shape == (272, 16) and data["y"].shape == (272,)
    params = problem.init(jax.random.PRNGKey(0))
    assert sum(p.size for p in jax.tree_util.tree_leaves(params)) == 272


def test_mean_field_output_matches_numpy():
    problem = FractalNet(width=5, input_dim=3)
    params = problem.init(jax.random.PRNGKey(2))
    x = np.asarray(problem.dataset()["x"])
    w0, w1 = np.asarray(params["hidden"]), np.asarray(params["output"])
    expected = np.tanh(np.sqrt(2.0) * (x @ w0.T) / np.sqrt(3)) @ w1 / 5  # tanh(√2·W₀x/√d), mean-field 1/n
    np.testing.assert_allclose(np.asarray(problem.predict(params, x)), expected, rtol=1e-5, atol=1e-6)
    loss = np.mean((expected - np.asarray(problem.dataset()["y"])) ** 2)
    np.testing.assert_allclose(float(problem.loss(params, problem.dataset())), loss, rtol=1e-5)


def test_small_rates_train_and_huge_rates_diverge(tmp_path):
    spec = spec_from_dict({
        "name": "fractal-tiny",
        "problem": {"name": "fractal_net", "width": 4, "input_dim": 3},
        "optimizer": {"name": "layerwise_gd", "eta_hidden": 0.5, "eta_output": {"grid": [0.5, 1e4]}},
        "sampler": {"name": "full_batch"},
        "run": {"steps": 200, "checkpoints": 4},
    })
    summary = run_spec(spec, tmp_path)
    from descentlab.store import Store

    runs = Store(tmp_path).read(summary.experiment, "runs").set_index("optimizer_eta_output")
    assert runs.loc[0.5, "status"] == "ok" and runs.loc[1e4, "status"] == "diverged"
    problem = FractalNet(width=4, input_dim=3)
    k_init = jax.random.split(jax.random.fold_in(jax.random.PRNGKey(0), 0), 5)[0]  # the engine's init key
    initial = float(problem.loss(problem.init(k_init), problem.dataset()))
    assert runs.loc[0.5, "final_train_loss"] < initial
