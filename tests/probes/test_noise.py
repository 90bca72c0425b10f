"""Noise probes on linear regression against closed forms; the temperature estimate on Gibbs samples."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from descentlab.probes import PROBES
from descentlab.problems.base import Problem
from descentlab.problems.least_squares import LeastSquares
from tests.probes.probes_testkit import DENSE_NETWORKS, measure, perturbed_dense_network


@dataclasses.dataclass(frozen=True)
class Regression(Problem):
    def example_loss(self, params, example):
        return 0.5 * (example["x"] @ params - example["y"]) ** 2


def test_noise_scale_matches_closed_form_per_example_gradients():
    rng = np.random.default_rng(0)
    n, d = 50, 4
    x = rng.standard_normal((n, d))
    y = rng.standard_normal(n)
    theta = rng.standard_normal(d)
    grads = x * (x @ theta - y)[:, None]  # ∇ ½(xᵀθ − y)² = x (xᵀθ − y)
    mean = grads.mean(axis=0)
    var = grads.var(axis=0, ddof=1)
    batch = {"x": jnp.asarray(x, jnp.float32), "y": jnp.asarray(y, jnp.float32)}
    out, _ = measure(PROBES.get("noise_scale").factory(), Regression(), jnp.asarray(theta, jnp.float32), batch)
    assert float(out["gradient_variance"]) == pytest.approx(var.sum(), rel=1e-4)
    assert float(out["noise_scale"]) == pytest.approx(var.sum() / (mean @ mean), rel=1e-4)
    assert float(out["gsnr"]) == pytest.approx(np.mean(mean**2 / var), rel=1e-4)


def test_noise_scale_on_gaussian_least_squares_matches_population_formula():
    # x ~ N(0, K), y = xᵀθ* + σε, e = θ − θ*:  E g = K e,  tr Σ = (eᵀKe + σ²) tr K + eᵀK²e
    problem = LeastSquares(dim=4, spectrum="power_law", alpha=1.0, noise=0.5)
    batch = problem.sample(jax.random.PRNGKey(0), 200_000)
    theta = problem.theta_star + jnp.array([1.0, -1.0, 0.5, 2.0])
    k = np.asarray(problem.eigenvalues, np.float64)
    e = np.array([1.0, -1.0, 0.5, 2.0])
    trace = (e @ (k * e) + 0.25) * k.sum() + e @ (k**2 * e)
    signal = np.sum((k * e) ** 2)
    out, _ = measure(PROBES.get("noise_scale").factory(), problem, theta, batch)
    assert float(out["gradient_variance"]) == pytest.approx(trace, rel=0.03)
    assert float(out["noise_scale"]) == pytest.approx(trace / signal, rel=0.03)


def test_noise_scale_batch_size_option_uses_the_first_examples():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((40, 3)), rng.standard_normal(40)
    theta = np.ones(3)
    grads = x[:10] * (x[:10] @ theta - y[:10])[:, None]
    batch = {"x": jnp.asarray(x, jnp.float32), "y": jnp.asarray(y, jnp.float32)}
    out, _ = measure(PROBES.get("noise_scale").factory(batch_size=10), Regression(), jnp.ones(3), batch)
    assert float(out["gradient_variance"]) == pytest.approx(grads.var(axis=0, ddof=1).sum(), rel=1e-4)


def test_temperature_recovers_the_gibbs_temperature_of_a_quadratic():
    # θ ~ exp(−f/T) with f = ½ θᵀ diag(h) θ  ⇒  θ_i ~ N(0, T/h_i), f ~ T·Gamma(d/2): T̂ = Var f / mean f
    d, temp, window = 10, 0.3, 400
    h = np.linspace(0.5, 3.0, d)

    @dataclasses.dataclass(frozen=True)
    class Quad(Problem):
        def loss(self, params, batch):
            return 0.5 * jnp.sum(jnp.asarray(h, jnp.float32) * params**2)

        @property
        def f_star(self):
            return 0.0

    samples = np.random.default_rng(2).standard_normal((window, d)) * np.sqrt(temp / h)
    probe = PROBES.get("temperature").factory(window=window)

    def run(samples):
        from tests.probes.probes_testkit import context

        state = probe.init(context(Quad(), samples[0]))

        def body(state, theta):
            out, state = probe.measure(context(Quad(), theta), state)
            return state, out

        return jax.lax.scan(body, state, samples)[1]

    outs = jax.jit(run)(jnp.asarray(samples, jnp.float32))
    assert np.isnan(float(outs["temperature"][0]))  # one value: no variance yet
    assert float(outs["temperature"][-1]) == pytest.approx(temp, rel=0.15)
    assert float(outs["effective_dimension"][-1]) == pytest.approx(d, rel=0.2)
    losses = 0.5 * np.sum(h * samples**2, axis=1)
    assert float(outs["loss_window_var"][-1]) == pytest.approx(losses.var(ddof=1), rel=1e-4)


@pytest.mark.parametrize(("name", "options"), DENSE_NETWORKS)
def test_dense_networks_gradient_moments_from_one_backward_pass_equal_per_example_gradients(name, options):
    """ḡ and Σ(g_i − ḡ)² by the dense-layer trick against the (n, P) per-example gradient matrix, float64."""
    from descentlab.probes.noise import example_gradients, gradient_moments, noise_statistics

    with jax.enable_x64(True):
        problem, params = perturbed_dense_network(name, options, key=2)
        batch = jax.tree_util.tree_map(lambda a: a[:12], problem.dataset())
        grads = np.asarray(example_gradients(problem, params, batch))  # columns in ravel_pytree's order
        mean, squares, n = gradient_moments(problem, params, batch)
        assert n == 12 and mean.shape == squares.shape == (grads.shape[1],)
        expected_mean = grads.mean(axis=0)
        expected_squares = ((grads - expected_mean) ** 2).sum(axis=0)
        # the layers' order differs from ravel_pytree's (sorted keys): compare as multisets of (mean, square) pairs
        pairs = np.lexsort((np.asarray(squares), np.asarray(mean)))
        expected_pairs = np.lexsort((expected_squares, expected_mean))
        np.testing.assert_allclose(np.asarray(mean)[pairs], expected_mean[expected_pairs], atol=1e-12)
        np.testing.assert_allclose(np.asarray(squares)[pairs], expected_squares[expected_pairs], atol=1e-10)
        fast = noise_statistics(mean, squares, n)
        slow = noise_statistics(jnp.asarray(expected_mean), jnp.asarray(expected_squares), n)
        for key in ("noise_scale", "gradient_variance", "gsnr"):
            np.testing.assert_allclose(float(fast[key]), float(slow[key]), rtol=1e-9)
