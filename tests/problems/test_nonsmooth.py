"""Nonsmooth finite sums: the stored f* against independent solvers; the Lasso prox."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import linprog, minimize

from descentlab.problems._finite_linear import hinge_primal, lasso_objective
from descentlab.problems.l1_regression import L1Regression
from descentlab.problems.lasso import Lasso
from descentlab.problems.svm import SVM


def _sdca_svm(x, y, lam, epochs=3000):
    """Stochastic dual coordinate ascent (Shalev-Shwartz & Zhang 2013), cyclic order; returns (primal, dual)."""
    n = len(y)
    alpha = np.zeros(n)
    w = np.zeros(x.shape[1])
    sq = np.sum(x**2, axis=1)
    for _ in range(epochs):
        for i in range(n):
            new = np.clip(alpha[i] + (1 - y[i] * x[i] @ w) * lam * n / sq[i], 0.0, 1.0)
            w += (new - alpha[i]) * y[i] * x[i] / (lam * n)
            alpha[i] = new
    dual = np.mean(alpha) - 0.5 * lam * w @ w
    return hinge_primal(w, x, y, lam), dual


def test_svm_f_star_matches_sdca():
    problem = SVM(dim=5, n_samples=40, regularization=0.05, label_flip=0.1)
    x, y = problem._data()
    primal, dual = _sdca_svm(x, y, 0.05, epochs=2000)
    assert primal - dual < 1e-9
    assert problem.f_star == pytest.approx(primal, abs=1e-8)
    assert problem.strong_convexity == 0.05
    rng = np.random.default_rng(0)
    for _ in range(10):
        assert hinge_primal(np.asarray(problem.optimum()) + 0.1 * rng.standard_normal(5), x, y, 0.05) > problem.f_star


def test_l1_regression_f_star_matches_the_dual_lp():
    problem = L1Regression(dim=4, n_samples=30, noise=0.5)
    x, y = problem._data()  # the float64 host data (dataset() is in the default float dtype)
    n = len(y)
    # dual: max yᵀu s.t. Xᵀu = 0, |u_i| ≤ 1/n
    result = linprog(-y, A_eq=x.T, b_eq=np.zeros(4), bounds=[(-1 / n, 1 / n)] * n, method="highs")
    assert problem.f_star == pytest.approx(-result.fun, abs=1e-9)
    with jax.enable_x64(True):
        assert float(problem.loss(problem.optimum(), problem.dataset())) == pytest.approx(problem.f_star, abs=1e-12)


def test_lasso_f_star_matches_bound_constrained_lbfgs():
    problem = Lasso(dim=6, n_samples=20, sparsity=2, noise=0.3, regularization=0.05)
    x, y = problem._data()
    n, lam = len(y), 0.05

    def split(z):  # w = u − v with u, v ≥ 0: a smooth bound-constrained problem
        w = z[:6] - z[6:]
        r = x @ w - y
        g = x.T @ r / n
        return 0.5 * r @ r / n + lam * z.sum(), np.concatenate([g + lam, -g + lam])

    result = minimize(
        split,
        np.zeros(12),
        jac=True,
        method="L-BFGS-B",
        bounds=[(0, None)] * 12,
        options={"ftol": 1e-16, "gtol": 1e-12, "maxiter": 10_000},
    )
    assert problem.f_star == pytest.approx(result.fun, abs=1e-9)
    assert problem.f_star == pytest.approx(lasso_objective(np.asarray(problem.optimum(), np.float64), x, y, lam))
    evals = np.linalg.eigvalsh(x.T @ x / n)
    assert problem.smoothness == pytest.approx(evals[-1]) and problem.strong_convexity == pytest.approx(evals[0])
    assert Lasso(dim=6, n_samples=4, sparsity=2).strong_convexity is None


def test_lasso_prox_is_the_argmin():
    problem = Lasso(dim=3, n_samples=10, sparsity=1, regularization=0.3)
    w = jnp.asarray([0.5, -0.05, -2.0])
    step = 0.4
    prox = np.asarray(problem.prox(w, step))
    grid = np.linspace(-3, 3, 600_001)
    for j in range(3):  # argmin_u ½(u − w_j)² + step·λ|u| by brute force
        values = 0.5 * (grid - float(w[j])) ** 2 + step * 0.3 * np.abs(grid)
        assert prox[j] == pytest.approx(grid[np.argmin(values)], abs=2e-5)
    assert prox[1] == 0.0
    params = problem.init(jax.random.key(0)) + 0.1
    batch = problem.dataset()
    total = problem.smooth_loss(params, batch) + problem.regularizer(params)
    assert float(problem.loss(params, batch)) == pytest.approx(float(total))


def test_lasso_smooth_loss_mode_for_proximal_optimizers():
    full = Lasso(dim=4, n_samples=10, sparsity=1, init_scale=1.0)
    smooth = Lasso(dim=4, n_samples=10, sparsity=1, init_scale=1.0, l1_in_loss=False)
    params, batch = full.init(jax.random.key(0)), full.dataset()
    assert float(smooth.loss(params, batch)) == pytest.approx(float(full.smooth_loss(params, batch)))
    assert float(full.loss(params, batch)) > float(smooth.loss(params, batch))
    assert float(smooth.metrics(params)["suboptimality"]) == pytest.approx(float(full.metrics(params)["suboptimality"]))
    assert smooth.f_star == full.f_star
