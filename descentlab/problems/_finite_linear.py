r"""Host-side data and long solves for the nonsmooth finite-sum problems (``svm``, ``l1_regression``, ``lasso``).

Design: rows :math:`x_i\sim\mathcal N(0, I_d/d)` (so :math:`\lVert x_i\rVert\approx1`), a teacher
:math:`w^\star` with :math:`\lVert w^\star\rVert^2 = d` (so :math:`x^\top w^\star` has unit variance); all drawn
from ``numpy.random.default_rng(seed)`` and cached per static configuration. The solvers return
float64 minima used as ``f_star``; each problem's test checks them against an independent method.
"""

from __future__ import annotations

import functools

import numpy as np


@functools.lru_cache(maxsize=16)
def design(n: int, dim: int, seed: int, sparsity: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X of shape (n, d), the teacher w*, a standard normal noise vector of length n).

    ``sparsity = k > 0`` keeps k nonzero teacher entries (the first k, each ±√(d/k)).
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, dim)) / np.sqrt(dim)
    w = rng.standard_normal(dim)
    if sparsity > 0:
        w = np.zeros(dim)
        w[:sparsity] = rng.choice([-1.0, 1.0], sparsity) * np.sqrt(dim / sparsity)
    else:
        w *= np.sqrt(dim) / np.linalg.norm(w)
    return x, w, rng.standard_normal(n)


def hinge_primal(w: np.ndarray, x: np.ndarray, y: np.ndarray, lam: float) -> float:
    return float(np.mean(np.maximum(0.0, 1.0 - y * (x @ w))) + 0.5 * lam * w @ w)


@functools.lru_cache(maxsize=16)
def svm_solution(n: int, dim: int, seed: int, label_flip: float, lam: float) -> tuple[np.ndarray, float, float]:
    r"""(w_opt, f*, duality gap) of the ℓ2-regularized hinge loss, by L-BFGS-B on the box-constrained dual

    .. math:: \max_{\alpha\in[0,1]^n} \tfrac1n\sum_i\alpha_i
              - \tfrac1{2\lambda n^2}\lVert\textstyle\sum_i\alpha_iy_ix_i\rVert^2,
              \qquad w(\alpha) = \tfrac1{\lambda n}\textstyle\sum_i\alpha_iy_ix_i ,

    f* is the primal value at w(α) (the gap to the dual value bounds its error).
    """
    from scipy.optimize import minimize

    x, y = svm_data(n, dim, seed, label_flip)
    z = y[:, None] * x

    def neg_dual(a):
        v = z.T @ a
        value = -np.sum(a) / n + v @ v / (2 * lam * n**2)
        grad = -1.0 / n + z @ v / (lam * n**2)
        return value, grad

    result = minimize(
        neg_dual,
        np.full(n, 0.5),
        jac=True,
        method="L-BFGS-B",
        bounds=[(0.0, 1.0)] * n,
        options={"maxiter": 100_000, "maxfun": 100_000, "ftol": 1e-16, "gtol": 1e-14, "maxcor": 50},
    )
    w = z.T @ result.x / (lam * n)
    primal = hinge_primal(w, x, y, lam)
    return w, primal, primal + float(result.fun)


@functools.lru_cache(maxsize=16)
def svm_data(n: int, dim: int, seed: int, label_flip: float) -> tuple[np.ndarray, np.ndarray]:
    """(X, y): y = sign(xᵀw*), each label flipped with probability ``label_flip``."""
    x, w, _ = design(n, dim, seed)
    y = np.sign(x @ w)
    y[y == 0] = 1.0
    flips = np.random.default_rng(seed + 1).random(n) < label_flip
    return x, np.where(flips, -y, y)


@functools.lru_cache(maxsize=16)
def l1_regression_data(n: int, dim: int, seed: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """(X, y): y = xᵀw* + noise · Laplace(0, 1) (heavy-ish tails, where ℓ1 regression is used)."""
    x, w, _ = design(n, dim, seed)
    laplace = np.random.default_rng(seed + 1).laplace(size=n)
    return x, x @ w + noise * laplace


@functools.lru_cache(maxsize=16)
def l1_regression_solution(n: int, dim: int, seed: int, noise: float) -> tuple[np.ndarray, float]:
    """(w_opt, f*) of (1/n) Σ|xᵢᵀw − yᵢ| by the LP  min Σ tᵢ  s.t.  −t ≤ Xw − y ≤ t  (HiGHS)."""
    from scipy.optimize import linprog

    x, y = l1_regression_data(n, dim, seed, noise)
    eye = np.eye(n)
    a_ub = np.block([[x, -eye], [-x, -eye]])
    b_ub = np.concatenate([y, -y])
    c = np.concatenate([np.zeros(dim), np.ones(n) / n])
    bounds = [(None, None)] * dim + [(0.0, None)] * n
    result = linprog(c, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs")
    if not result.success:
        raise RuntimeError(f"l1 regression LP failed: {result.message}")
    w = result.x[:dim]
    return w, float(np.mean(np.abs(x @ w - y)))


@functools.lru_cache(maxsize=16)
def lasso_data(n: int, dim: int, seed: int, sparsity: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """(X, y): y = xᵀw* + noise · N(0, 1) with a k-sparse teacher."""
    x, w, eps = design(n, dim, seed, sparsity)
    return x, x @ w + noise * eps


def lasso_objective(w: np.ndarray, x: np.ndarray, y: np.ndarray, lam: float) -> float:
    r = x @ w - y
    return float(0.5 * r @ r / len(y) + lam * np.sum(np.abs(w)))


@functools.lru_cache(maxsize=16)
def lasso_solution(n: int, dim: int, seed: int, sparsity: int, noise: float, lam: float) -> tuple[np.ndarray, float]:
    """(w_opt, f*) by cyclic coordinate descent with exact coordinate minimization (soft thresholding),
    run until the largest coordinate change is below 1e-15 (Friedman, Hastie, Tibshirani 2010)."""
    x, y = lasso_data(n, dim, seed, sparsity, noise)
    w = np.zeros(dim)
    col_sq = np.sum(x**2, axis=0) / n
    residual = y - x @ w
    for _ in range(200_000):
        biggest = 0.0
        for j in range(dim):
            rho = x[:, j] @ residual / n + col_sq[j] * w[j]
            new = np.sign(rho) * max(abs(rho) - lam, 0.0) / col_sq[j]
            if new != w[j]:
                residual -= x[:, j] * (new - w[j])
                biggest = max(biggest, abs(new - w[j]))
                w[j] = new
        if biggest < 1e-15:
            break
    return w, lasso_objective(w, x, y, lam)


class FiniteLinear:
    """Mixin of the nonsmooth finite-sum problems: params w ∈ R^d, data {"x", "y"} fixed on the host.

    Subclasses (also ``Problem`` dataclasses) define ``_data() -> (X, y)``, ``_solution() -> (w, f*)``
    and ``example_loss``; fields ``dim``, ``n_samples``, ``data_seed``, ``init_scale``.
    """

    monitor = "suboptimality"

    def _data(self) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _solution(self) -> tuple[np.ndarray, float]:
        raise NotImplementedError

    def init(self, key):
        import jax
        import jax.numpy as jnp

        dtype = jnp.result_type(float)
        return self.init_scale * jax.random.normal(key, (self.dim,), dtype) / jnp.sqrt(self.dim)

    def dataset(self) -> dict:
        import jax.numpy as jnp

        x, y = self._data()
        dtype = jnp.result_type(float)
        return {"x": jnp.asarray(x, dtype), "y": jnp.asarray(y, dtype)}

    def metrics(self, params) -> dict:
        return {"suboptimality": self.loss(params, self.dataset()) - self.f_star}

    @property
    def f_star(self) -> float:
        return self._solution()[1]

    def optimum(self):
        import jax.numpy as jnp

        return jnp.asarray(self._solution()[0], jnp.result_type(float))
