"""layerwise_gd against NumPy: full-batch GD on the fractal net with separate hidden / output rates."""

import jax
import numpy as np
import pytest

from descentlab.optim import OPTIMIZERS
from descentlab.optim.two_rate_gd import scale_by_layer
from descentlab.problems.fractal_net import FractalNet


def numpy_gd(w0, w1, x, y, eta0, eta1, steps):
    """GD on L = mean((w1·φ(W0 x/√d)/n − y)²), φ(z) = tanh(√2 z), with hand-derived gradients."""
    n, d = w0.shape
    c = np.sqrt(2.0 / d)  # the activation gain and the 1/√d input scaling together
    for _ in range(steps):
        h = np.tanh(c * (x @ w0.T))  # (N, n)
        r = h @ w1 / n - y  # (N,)
        g1 = 2.0 / len(y) * h.T @ r / n
        delta = (2.0 / len(y)) * np.outer(r, w1 / n) * (1 - h**2) * c  # (N, n)
        g0 = delta.T @ x
        w0, w1 = w0 - eta0 * g0, w1 - eta1 * g1
    return w0, w1


@pytest.mark.parametrize(("eta_hidden", "eta_output"), [(0.5, 2.0), (3.0, 0.1)])
def test_matches_numpy(eta_hidden, eta_output):
    with jax.enable_x64(True):
        problem = FractalNet(width=4, input_dim=3)
        params = problem.init(jax.random.PRNGKey(1))
        data = problem.dataset()
        opt = OPTIMIZERS.get("layerwise_gd").build(1.0, eta_hidden=eta_hidden, eta_output=eta_output)
        state = opt.init(params)
        for _ in range(15):
            _, grads = problem.grad(params, data)
            updates, state = opt.update(grads, state, params)
            params = jax.tree_util.tree_map(lambda p, u: p + u, params, updates)
        w0, w1 = numpy_gd(
            np.asarray(problem.init(jax.random.PRNGKey(1))["hidden"]),
            np.asarray(problem.init(jax.random.PRNGKey(1))["output"]),
            np.asarray(data["x"]),
            np.asarray(data["y"]),
            eta_hidden,
            eta_output,
            15,
        )
    np.testing.assert_allclose(np.asarray(params["hidden"]), w0, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.asarray(params["output"]), w1, rtol=1e-10, atol=1e-12)


def test_scale_by_layer_scales_each_top_level_entry_and_rejects_non_dicts():
    t = scale_by_layer({"a": 2.0}, default=-1.0)
    out, _ = t.update({"a": np.ones(2, np.float32), "b": {"c": np.ones(3, np.float32)}}, t.init(None))
    np.testing.assert_array_equal(out["a"], [2.0, 2.0])
    np.testing.assert_array_equal(out["b"]["c"], [-1.0, -1.0, -1.0])
    with pytest.raises(TypeError):
        t.update(np.ones(3), t.init(None))


def test_rates_are_vmappable():
    problem = FractalNet(width=4, input_dim=3)
    params = problem.init(jax.random.PRNGKey(0))
    _, grads = problem.grad(params, problem.dataset())

    def step(eta_out):
        opt = OPTIMIZERS.get("layerwise_gd").build(1.0, eta_hidden=0.0, eta_output=eta_out)
        return opt.update(grads, opt.init(params), params)[0]["output"]

    got = jax.vmap(step)(np.asarray([1.0, 2.0], np.float32))
    np.testing.assert_allclose(got[1], 2 * got[0], rtol=1e-6)
    np.testing.assert_allclose(got[0], -np.asarray(grads["output"]), rtol=1e-6)
