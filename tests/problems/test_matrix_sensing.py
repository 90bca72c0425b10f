"""matrix_sensing: measurements, exact population risk against fresh measurements, recovery from small init."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from descentlab.problems.matrix_sensing import MatrixSensing


def test_target_and_measurements():
    problem = MatrixSensing(dim=5, rank=5, target_rank=2, n_measurements=30, noise=0.0)
    target = np.asarray(problem.target)
    np.testing.assert_allclose(np.linalg.eigvalsh(target), [0, 0, 0, 1, 1], atol=1e-5)
    data = problem.dataset()
    expected = np.einsum("nij,ij->n", np.asarray(data["a"], np.float64), target)
    np.testing.assert_allclose(data["y"], expected, rtol=1e-4, atol=1e-5)
    params = problem.init(jax.random.key(0))
    u = np.asarray(params["u"])
    np.testing.assert_allclose(
        problem.predict(params, data["a"][:3]),
        [np.trace(u.T @ np.asarray(a) @ u) for a in data["a"][:3]],
        rtol=1e-4,
        atol=1e-8,
    )


def test_population_risk_matches_fresh_measurements():
    with jax.enable_x64(True):
        problem = MatrixSensing(dim=4, rank=3, target_rank=2, n_measurements=10, noise=0.5, init_scale=2.0)
        params = problem.init(jax.random.key(1))
        n = 200_000
        k_a, k_e = jax.random.split(jax.random.key(2))
        a = jax.random.normal(k_a, (n, 4, 4), jnp.float64)
        y = jnp.einsum("nij,ij->n", a, problem.target) + 0.5 * jax.random.normal(k_e, (n,), jnp.float64)
        losses = jax.vmap(problem.example_loss, in_axes=(None, 0))(params, {"a": a, "y": y})
        mc, se = float(jnp.mean(losses)), float(jnp.std(losses)) / np.sqrt(n)
        exact = float(problem.metrics(params)["population_risk"])
        assert abs(mc - exact) < 4 * se, (mc, exact, se)


def test_small_initialization_recovers_the_low_rank_target():
    """Over-parameterized (k = d) GD from small init recovers X* from n ≈ 5 d r* measurements (Li, Ma, Zhang)."""
    with jax.enable_x64(True):
        problem = MatrixSensing(dim=8, rank=8, target_rank=1, n_measurements=40, init_scale=1e-3)
        data = problem.dataset()

        def step(p, _):
            g = jax.grad(problem.loss)(p, data)
            return jax.tree_util.tree_map(lambda a, b: a - 0.02 * b, p, g), None

        params, _ = jax.jit(lambda p: jax.lax.scan(step, p, None, length=3000))(problem.init(jax.random.key(3)))
        metrics = problem.metrics(params)
        assert float(problem.loss(params, data)) < 1e-6
        assert float(metrics["recovery_error"]) < 0.05, metrics
