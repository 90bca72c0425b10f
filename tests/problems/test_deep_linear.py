"""deep_linear: exact population risk against Monte Carlo, Eckart–Young f* against a long GD solve, modes."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from descentlab.problems.deep_linear import DeepLinear


def test_teacher_has_the_stated_singular_values():
    problem = DeepLinear(dim=6, out_dim=5, target_rank=3, alpha=0.8)
    singular = np.linalg.svd(np.asarray(problem.teacher), compute_uv=False)
    np.testing.assert_allclose(singular[:3], np.arange(1, 4) ** -0.8, rtol=1e-5)
    np.testing.assert_allclose(singular[3:], 0.0, atol=1e-6)


def test_population_risk_matches_monte_carlo():
    with jax.enable_x64(True):
        problem = DeepLinear(dim=5, out_dim=4, width=6, depth=3, target_rank=3, noise=0.3, init_scale=1.0)
        params = problem.init(jax.random.key(0))
        n = 200_000
        batch = problem.sample(jax.random.key(1), n)
        losses = jax.vmap(problem.example_loss, in_axes=(None, 0))(params, batch)
        mc, se = float(jnp.mean(losses)), float(jnp.std(losses)) / np.sqrt(n)
        exact = float(problem.metrics(params)["population_risk"])
        assert abs(mc - exact) < 4 * se, (mc, exact, se)


@pytest.mark.parametrize("width,depth", [(2, 2), (5, 2), (4, 1)])
def test_f_star_matches_long_gradient_descent(width, depth):
    with jax.enable_x64(True):
        problem = DeepLinear(
            dim=4, out_dim=4, width=width, depth=depth, target_rank=4, alpha=0.5, noise=0.2, init_scale=0.5
        )
        params = problem.init(jax.random.key(2))

        def step(p, _):
            g = jax.grad(problem.population_risk)(p)
            return jax.tree_util.tree_map(lambda a, b: a - 0.1 * b, p, g), None

        params, _ = jax.jit(lambda p: jax.lax.scan(step, p, None, length=20_000))(params)
        reached = float(problem.population_risk(params))
        expected = 0.5 * 4 * 0.2**2 + 0.5 * np.sum((np.arange(1, 5) ** -0.5)[min(width, 4) if depth > 1 else 4 :] ** 2)
        np.testing.assert_allclose(float(problem.f_star), expected, rtol=1e-12)
        np.testing.assert_allclose(reached, expected, rtol=1e-6)


def test_modes_are_teacher_projections_of_the_product():
    problem = DeepLinear(dim=5, out_dim=3, width=4, depth=2, target_rank=3, init_scale=1.0)
    params = problem.init(jax.random.key(3))
    product = np.asarray(params["w1"]) @ np.asarray(params["w2"])
    u, v = (np.asarray(a) for a in problem.teacher_frames)
    metrics = problem.metrics(params)
    for i in range(3):
        np.testing.assert_allclose(float(metrics[f"mode_{i + 1}"]), u[:, i] @ product @ v[:, i], rtol=1e-5, atol=1e-7)
    x = np.asarray(problem.sample(jax.random.key(4), 3)["x"])
    np.testing.assert_allclose(problem.predict(params, x), x @ product, rtol=1e-5, atol=1e-6)
