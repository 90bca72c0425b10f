"""random_features: exact risk against Monte Carlo; f*, optimum, L and μ against an independent NumPy solve."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from descentlab.problems.random_features import RandomFeatures, _feature_matrix


def _numpy_quadratic(v: int, n: int, alpha: float, beta: float, seed: int = 0):
    """(H, c, const) with R(θ) = ½θᵀHθ − cᵀθ + const (noise-free), all in float64 NumPy."""
    w = _feature_matrix(v, n, seed)
    j = np.arange(1, v + 1, dtype=np.float64)
    d, b = j ** (-2 * alpha), j ** (-beta)
    return w.T @ (d[:, None] * w), w.T @ (d * b), 0.5 * np.sum(d * b**2)


def test_population_risk_matches_monte_carlo():
    with jax.enable_x64(True):
        problem = RandomFeatures(n_features=5, latent_dim=20, alpha=0.8, beta=0.6, noise=0.2, init_scale=2.0)
        params = problem.init(jax.random.key(0))
        n = 200_000
        losses = jax.vmap(problem.example_loss, in_axes=(None, 0))(params, problem.sample(jax.random.key(1), n))
        mc, se = float(jnp.mean(losses)), float(jnp.std(losses)) / np.sqrt(n)
        exact = float(problem.metrics(params)["population_risk"])
        assert abs(mc - exact) < 4 * se, (mc, exact, se)


@pytest.mark.parametrize("n,v", [(6, 30), (30, 12)])
def test_constants_match_an_independent_solve(n, v):
    with jax.enable_x64(True):
        problem = RandomFeatures(n_features=n, latent_dim=v, alpha=0.9, beta=0.4, noise=0.1)
        h, c, const = _numpy_quadratic(v, n, 0.9, 0.4)
        theta = np.linalg.lstsq(h, c, rcond=None)[0]
        f_star = const - 0.5 * c @ theta + 0.5 * 0.1**2
        np.testing.assert_allclose(float(problem.f_star), f_star, rtol=1e-8)
        np.testing.assert_allclose(float(problem.population_risk(problem.optimum())), f_star, rtol=1e-8)
        eig = np.linalg.eigvalsh(h)
        np.testing.assert_allclose(float(problem.smoothness), eig[-1], rtol=1e-10)
        if v >= n:
            np.testing.assert_allclose(float(problem.strong_convexity), eig[0], rtol=1e-6)
        else:
            assert float(problem.strong_convexity) == 0.0
            assert eig[0] < 1e-10 * eig[-1]  # rank-deficient Hessian indeed


def test_gradient_descent_on_the_risk_reaches_f_star():
    with jax.enable_x64(True):
        problem = RandomFeatures(n_features=4, latent_dim=10, alpha=0.6, beta=0.5)
        lr = 1.0 / float(problem.smoothness)

        def step(theta, _):
            return theta - lr * jax.grad(problem.population_risk)(theta), None

        theta, _ = jax.jit(lambda t: jax.lax.scan(step, t, None, length=50_000))(problem.init(jax.random.key(2)))
        np.testing.assert_allclose(float(problem.population_risk(theta)), float(problem.f_star), rtol=1e-7)
