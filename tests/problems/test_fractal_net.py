"""The fractal-trainability net: the paper's sizes, the mean-field form, and a boundary in the rate plane."""

import jax
import numpy as np
import pytest

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
    spec = spec_from_dict(
        {
            "name": "fractal-tiny",
            "problem": {"name": "fractal_net", "width": 4, "input_dim": 3},
            "optimizer": {"name": "layerwise_gd", "eta_hidden": 0.5, "eta_output": {"grid": [0.5, 1e4]}},
            "sampler": {"name": "full_batch"},
            "run": {"steps": 200, "checkpoints": 4},
        }
    )
    summary = run_spec(spec, tmp_path)
    from descentlab.store import Store

    runs = Store(tmp_path).read(summary.experiment, "runs").set_index("optimizer_eta_output")
    assert runs.loc[0.5, "status"] == "ok" and runs.loc[1e4, "status"] == "diverged"
    problem = FractalNet(width=4, input_dim=3)
    k_init = jax.random.split(jax.random.fold_in(jax.random.PRNGKey(0), 0), 5)[0]  # the engine's init key
    initial = float(problem.loss(problem.init(k_init), problem.dataset()))
    assert runs.loc[0.5, "final_train_loss"] < initial


@pytest.mark.parametrize("activation", ["tanh", "relu", "identity"])
@pytest.mark.parametrize(("width", "input_dim", "n_points"), [(16, 16, 0), (5, 3, 7)])
def test_hand_gradient_equals_autodiff_in_float64(activation, width, input_dim, n_points):
    with jax.enable_x64(True):
        problem = FractalNet(width=width, input_dim=input_dim, n_points=n_points, activation=activation)
        params = problem.init(jax.random.PRNGKey(4))
        params = {"hidden": 2.0 * params["hidden"], "output": params["output"]}  # relu: both signs of U
        data = problem.dataset()
        assert data["x"].dtype == np.float64
        loss, grads = problem.grad(params, data)
        ref_loss, ref_grads = jax.value_and_grad(problem.loss)(params, data)
        np.testing.assert_allclose(float(loss), float(ref_loss), rtol=1e-14)
        for key in ("hidden", "output"):
            assert grads[key].shape == params[key].shape
            np.testing.assert_allclose(
                np.asarray(grads[key]),
                np.asarray(ref_grads[key]),
                rtol=1e-12,
                atol=1e-14 * float(np.abs(ref_grads[key]).max()),
            )
        # a minibatch (any leading size), and a vmapped sweep of parameters as in the engine
        batch = jax.tree_util.tree_map(lambda a: a[:5], data)
        _, mini = problem.grad(params, batch)
        ref_mini = jax.grad(problem.loss)(params, batch)
        np.testing.assert_allclose(np.asarray(mini["hidden"]), np.asarray(ref_mini["hidden"]), rtol=1e-12, atol=1e-14)
        stacked = jax.tree_util.tree_map(lambda a: np.stack([a, -0.5 * a]), params)
        _, batched = jax.vmap(problem.grad, in_axes=(0, None))(stacked, data)
        _, second = problem.grad(jax.tree_util.tree_map(lambda a: a[1], stacked), data)
        np.testing.assert_allclose(
            np.asarray(batched["hidden"][1]), np.asarray(second["hidden"]), rtol=1e-12, atol=1e-14
        )


def test_predict_takes_any_leading_shape():
    problem = FractalNet(width=5, input_dim=3)
    params = problem.init(jax.random.PRNGKey(2))
    x = np.asarray(problem.dataset()["x"])[:6]
    flat = np.asarray(problem.predict(params, x))
    assert flat.shape == (6,)
    np.testing.assert_allclose(np.asarray(problem.predict(params, x.reshape(2, 3, 3))), flat.reshape(2, 3), rtol=1e-6)
    assert problem.predict(params, x[0]).shape == ()
    np.testing.assert_allclose(float(problem.predict(params, x[0])), flat[0], rtol=1e-6)
