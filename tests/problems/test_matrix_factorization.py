"""matrix_factorization: data, Eckart–Young f* against a long GD solve, metrics, conserved imbalance."""

from __future__ import annotations

import jax
import numpy as np

from descentlab.problems.matrix_factorization import MatrixFactorization


def _gd(problem, params, lr, steps):
    data = problem.dataset()

    def step(p, _):
        g = jax.grad(problem.loss)(p, data)
        return jax.tree_util.tree_map(lambda a, b: a - lr * b, p, g), None

    return jax.jit(lambda p: jax.lax.scan(step, p, None, length=steps))(params)[0]


def test_target_scale_rank_and_observed_entries():
    problem = MatrixFactorization(rows=8, cols=6, target_rank=3, alpha=1.0, observed_fraction=0.5)
    target = np.asarray(problem.target)
    np.testing.assert_allclose(np.mean(target**2), 1.0, rtol=1e-5)
    singular = np.linalg.svd(target, compute_uv=False)
    np.testing.assert_allclose(singular[1:3] / singular[0], [1 / 2, 1 / 3], rtol=1e-5)
    assert np.linalg.matrix_rank(target, tol=1e-4) == 3
    data = problem.dataset()
    assert data["i"].shape == (24,)
    assert len({(int(i), int(j)) for i, j in zip(data["i"], data["j"], strict=True)}) == 24
    np.testing.assert_allclose(data["value"], target[np.asarray(data["i"]), np.asarray(data["j"])], rtol=1e-6)
    assert problem.f_star is None


def test_f_star_is_eckart_young_and_gd_reaches_it():
    with jax.enable_x64(True):
        problem = MatrixFactorization(rows=6, cols=5, rank=2, target_rank=4, alpha=0.5, noise=0.3, init_scale=0.5)
        observed = np.asarray(problem.observed)
        singular = np.linalg.svd(observed, compute_uv=False)
        expected = 0.5 * np.sum(singular[2:] ** 2) / 30
        np.testing.assert_allclose(float(problem.f_star), expected, rtol=1e-12)
        params = _gd(problem, problem.init(jax.random.key(0)), lr=1.0, steps=20_000)
        np.testing.assert_allclose(float(problem.loss(params, problem.dataset())), expected, rtol=1e-6)
        # the loss over all entries is ½‖UVᵀ − M‖²/(mn)
        u, v = np.asarray(params["u"]), np.asarray(params["v"])
        np.testing.assert_allclose(
            float(problem.loss(params, problem.dataset())), 0.5 * np.mean((u @ v.T - observed) ** 2), rtol=1e-10
        )


def test_metrics_and_balance_under_small_steps():
    with jax.enable_x64(True):
        problem = MatrixFactorization(rows=7, cols=5, rank=3, target_rank=2, init_scale=0.3)
        params = problem.init(jax.random.key(1))
        m0 = problem.metrics(params)
        u, v = np.asarray(params["u"]), np.asarray(params["v"])
        error = u @ v.T - np.asarray(problem.target)
        np.testing.assert_allclose(float(m0["population_risk"]), 0.5 * np.mean(error**2), rtol=1e-10)
        np.testing.assert_allclose(float(m0["imbalance"]), np.linalg.norm(u.T @ u - v.T @ v), rtol=1e-10)
        # gradient flow conserves UᵀU − VᵀV; tiny-step GD keeps it while the risk falls by orders of magnitude
        later = _gd(problem, params, lr=0.2, steps=20_000)
        m1 = problem.metrics(later)
        assert float(m1["relative_error"]) < 1e-3
        np.testing.assert_allclose(float(m1["imbalance"]), float(m0["imbalance"]), rtol=0.05)
