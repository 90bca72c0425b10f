r"""Shared machinery of the Gaussian multi-index models (``single_index``, ``phase_retrieval``, ``two_index``).

Data (a stream): :math:`x\sim\mathcal N(0, I_d)`, :math:`y = g(\Theta^\star x) + \sigma\varepsilon` with a
teacher :math:`\Theta^\star\in\mathbb R^{r\times d}` of orthonormal rows (:math:`T=\Theta^\star\Theta^{\star\top}=I_r`,
seed ``teacher_seed``). The student has the same link: :math:`\hat y = g(Wx)`, loss :math:`\tfrac12(\hat y-y)^2`.
(Inputs are not normalized by :math:`\sqrt d`, as in Ben Arous, Gheissari, Jagannath 2021: step sizes
scale like 1/d.)

Because :math:`(Wx, \Theta^\star x)\sim\mathcal N\big(0, \begin{psmallmatrix}Q & M\\ M^\top & I\end{psmallmatrix}\big)`
with the overlaps :math:`Q = WW^\top` (``q``) and :math:`M = W\Theta^{\star\top}` (``m``), the population risk

.. math:: \mathcal R(W) = \tfrac12\,\mathbb E\big[(g(u)-g(v))^2\big] + \tfrac{\sigma^2}2

is a 2r-dimensional Gaussian integral, computed by tensor Gauss–Hermite quadrature (exact for
polynomial links of degree ≤ ``nodes``−1; for ReLU-type links the error is about 1e-4 relative).
Minimum :math:`f^\star = \sigma^2/2` at :math:`W = \Theta^\star`.
"""

from __future__ import annotations

import functools
import itertools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from descentlab.problems.base import Problem
from descentlab.problems.logistic_mixture import gauss_hermite, orthonormal_directions


@functools.lru_cache(maxsize=8)
def tensor_gauss_hermite(dim: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes (n^dim, dim) and weights (n^dim,) for E f(g), g ~ N(0, I_dim)."""
    x, w = gauss_hermite(n)
    nodes = np.array(list(itertools.product(x, repeat=dim)))
    weights = np.prod(np.array(list(itertools.product(w, repeat=dim))), axis=1)
    return nodes, weights


def gaussian_expectation(fn, cov: jax.Array, n: int) -> jax.Array:
    """E fn(z) for z ~ N(0, cov) (cov of size k×k; fn maps (..., k) → (...)), by quadrature."""
    k = cov.shape[0]
    nodes, weights = tensor_gauss_hermite(k, n)
    evals, evecs = jnp.linalg.eigh(cov)
    root = evecs * jnp.sqrt(jnp.maximum(evals, 0.0))
    z = jnp.asarray(nodes, cov.dtype) @ root.T
    return fn(z) @ jnp.asarray(weights, cov.dtype)


class IndexModel(Problem):
    """Base: subclasses define ``index_dim`` (r), ``apply_link(z)`` on (..., r), and the fields used here."""

    is_stream = True
    monitor = "population_risk"
    quadrature_nodes: int = 40

    dim: int
    teacher_seed: int
    noise: Any
    init_scale: Any

    @property
    def index_dim(self) -> int:
        raise NotImplementedError

    def apply_link(self, z: jax.Array) -> jax.Array:
        raise NotImplementedError

    # params are a vector (r = 1) or an (r, d) matrix
    def _as_matrix(self, params: jax.Array) -> jax.Array:
        return params.reshape(self.index_dim, self.dim)

    @property
    def teacher(self) -> jax.Array:
        """Θ* (r, d), orthonormal rows."""
        rows = orthonormal_directions(self.dim, self.index_dim, self.teacher_seed)
        return jnp.asarray(rows, jnp.result_type(float))

    def init(self, key: jax.Array) -> jax.Array:
        dtype = jnp.result_type(float)
        shape = (self.dim,) if self.index_dim == 1 else (self.index_dim, self.dim)
        return self.init_scale * jax.random.normal(key, shape, dtype) / jnp.sqrt(self.dim)

    def predict(self, params: jax.Array, x: jax.Array) -> jax.Array:
        return self.apply_link(x @ self._as_matrix(params).T)

    def example_loss(self, params: jax.Array, example: dict) -> jax.Array:
        return 0.5 * (self.predict(params, example["x"]) - example["y"]) ** 2

    def loss(self, params: jax.Array, batch: dict) -> jax.Array:
        return 0.5 * jnp.mean((self.predict(params, batch["x"]) - batch["y"]) ** 2)

    def sample(self, key: jax.Array, batch_size: int) -> dict:
        k_x, k_e = jax.random.split(key)
        dtype = jnp.result_type(float)
        x = jax.random.normal(k_x, (batch_size, self.dim), dtype)
        y = self.apply_link(x @ self.teacher.T) + self.noise * jax.random.normal(k_e, (batch_size,), dtype)
        return {"x": x, "y": y}

    def overlaps(self, params: jax.Array) -> tuple[jax.Array, jax.Array]:
        """(M = WΘ*ᵀ, Q = WWᵀ), each (r, r)."""
        w = self._as_matrix(params)
        return w @ self.teacher.T, w @ w.T

    def excess_risk(self, params: jax.Array) -> jax.Array:
        m, q = self.overlaps(params)
        r = self.index_dim
        cov = jnp.block([[q, m], [m.T, jnp.eye(r, dtype=q.dtype)]])
        n = self.quadrature_nodes if r == 1 else 12
        return 0.5 * gaussian_expectation(
            lambda z: (self.apply_link(z[..., :r]) - self.apply_link(z[..., r:])) ** 2, cov, n
        )

    def population_risk(self, params: jax.Array) -> jax.Array:
        return self.excess_risk(params) + 0.5 * self.noise**2

    def metrics(self, params: jax.Array) -> dict[str, jax.Array]:
        excess = self.excess_risk(params)
        out = {"population_risk": excess + 0.5 * self.noise**2, "excess_risk": excess}
        m, q = self.overlaps(params)
        if self.index_dim == 1:
            out.update({"m": m[0, 0], "q": q[0, 0]})
        else:
            for i in range(self.index_dim):
                for j in range(self.index_dim):
                    out[f"m_{i}{j}"] = m[i, j]
                    if j >= i:
                        out[f"q_{i}{j}"] = q[i, j]
        return out

    @property
    def f_star(self) -> jax.Array:
        return 0.5 * jnp.asarray(self.noise, jnp.result_type(float)) ** 2

    def optimum(self) -> jax.Array:
        return self.teacher[0] if self.index_dim == 1 else self.teacher
