r"""Matrix factorization (and completion): fit :math:`UV^\top` to the observed entries of a low-rank matrix.

Target :math:`M^\star = c\,A\,\mathrm{diag}(s)\,B^\top\in\mathbb R^{m\times n}` with orthonormal
:math:`A\in\mathbb R^{m\times r^\star}`, :math:`B\in\mathbb R^{n\times r^\star}` (from ``teacher_seed``),
:math:`s_i = i^{-\alpha}` and :math:`c = \sqrt{mn}/\|s\|` so that the mean squared entry is 1.
Observed matrix :math:`M = M^\star + \sigma E`, :math:`E_{ij}\sim\mathcal N(0,1)` fixed by the seed.
The dataset is the set :math:`\Omega` of observed entries (all of them when ``observed_fraction = 1``;
otherwise a seeded random subset — matrix completion); one example is :math:`(i, j, M_{ij})` with loss

.. math:: \ell(U, V; i, j) = \tfrac12\big(u_i^\top v_j - M_{ij}\big)^2,\qquad
          U\in\mathbb R^{m\times k},\ V\in\mathbb R^{n\times k}

so full-batch gradient descent minimizes :math:`\frac{1}{2|\Omega|}\|P_\Omega(UV^\top - M)\|_F^2` and SGD
samples entries. With full observation the minimum over rank-:math:`k` products is given by Eckart–Young,
:math:`f^\star = \frac{1}{2mn}\sum_{i>k}\sigma_i(M)^2` (exact, also in the noise and the exponent); with
partial observation f* is not stated. Metrics: ``population_risk`` :math:`\frac{1}{2mn}\|UV^\top-M^\star\|_F^2`
(the error on every entry, observed or not), ``relative_error`` :math:`\|UV^\top-M^\star\|_F/\|M^\star\|_F`,
and the ``imbalance`` :math:`\|U^\top U - V^\top V\|_F`, conserved by gradient flow.
Initialization :math:`U, V\sim\mathcal N(0, s_0^2/k)` entrywise (``init_scale`` = :math:`s_0`).
Parameters ``{"u": (m, k), "v": (n, k)}`` (2-D: Muon applies).

References: Ye, Du, *Global Convergence of Gradient Descent for Asymmetric Low-Rank Matrix Factorization*
(2106.14289); Du, Hu, Lee, *Algorithmic Regularization in Learning Deep Homogeneous Models: Layers are
Automatically Balanced* (1806.00900); Candès, Recht, *Exact Matrix Completion via Convex Optimization* (0805.4471).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from descentlab.params import SpecError
from descentlab.problems.base import Problem, hyper, static
from descentlab.problems.registry import register_problem


@functools.lru_cache(maxsize=16)
def _matrix_data(m: int, n: int, r: int, fraction: float, seed: int) -> tuple[np.ndarray, ...]:
    """(A, B, E, rows, cols): teacher frames, noise matrix and the observed entries."""
    rng = np.random.default_rng(seed)
    a, _ = np.linalg.qr(rng.standard_normal((m, r)))
    b, _ = np.linalg.qr(rng.standard_normal((n, r)))
    noise = rng.standard_normal((m, n))
    count = max(1, round(fraction * m * n))
    flat = np.sort(rng.permutation(m * n)[:count]) if count < m * n else np.arange(m * n)
    return a, b, noise, (flat // n).astype(np.int32), (flat % n).astype(np.int32)


@register_problem("matrix_factorization")
@dataclasses.dataclass(frozen=True)
class MatrixFactorization(Problem):
    """min ½ mean over observed (i, j) of (u_iᵀv_j − M_ij)²; Eckart–Young f* under full observation."""

    summary = "Low-rank matrix factorization/completion UVᵀ ≈ M over observed entries; Eckart–Young f*."
    references = (
        "Ye, Du. Global Convergence of Gradient Descent for Asymmetric Low-Rank Matrix Factorization (2106.14289)",
        "Du, Hu, Lee. Algorithmic Regularization in Learning Deep Homogeneous Models: Layers are Automatically "
        "Balanced (1806.00900)",
        "Candès, Recht. Exact Matrix Completion via Convex Optimization (0805.4471)",
    )
    is_stream = False
    monitor = "population_risk"
    tiny: ClassVar[dict] = {"rows": 5, "cols": 4, "rank": 2, "target_rank": 2}

    rows: int = static(30, "m: rows of the matrix", low=1, high=100_000)
    cols: int = static(20, "n: columns of the matrix", low=1, high=100_000)
    rank: int = static(5, "k: columns of the factors U, V", low=1, high=100_000)
    target_rank: int = static(3, "r*: rank of the target (≤ min(m, n))", low=1)
    observed_fraction: float = static(
        1.0, "fraction of entries observed (1 = full factorization)", low=0.0, high=1.0, low_open=True
    )
    teacher_seed: int = static(0, "seed of the target, the noise and the observed set", low=0)
    alpha: float = hyper(0.0, "target singular values s_i ∝ i^-α", low=0.0)
    noise: float = hyper(0.0, "entry noise σ", low=0.0)
    init_scale: float = hyper(0.1, "U, V ~ N(0, s0²/k)", low=0.0)

    # the teacher, its noise and the observed index set are rows × cols each
    arrays: ClassVar[tuple] = (("rows", "cols", 3), ("rows", "rank"), ("cols", "rank"))

    @classmethod
    def check(cls, values) -> None:
        limit = min(values["rows"], values["cols"])
        if values["target_rank"] > limit:
            raise SpecError("problem.target_rank", values["target_rank"], f"at most min(rows, cols) = {limit}")

    def _host(self) -> tuple[np.ndarray, ...]:
        return _matrix_data(self.rows, self.cols, self.target_rank, self.observed_fraction, self.teacher_seed)

    @property
    def target(self) -> jax.Array:
        """M* (m, n), mean squared entry 1."""
        a, b, *_ = self._host()
        dtype = jnp.result_type(float)
        index = jnp.arange(1, self.target_rank + 1, dtype=dtype)
        s = index ** (-jnp.asarray(self.alpha, dtype))
        s = s * jnp.sqrt(self.rows * self.cols) / jnp.linalg.norm(s)
        return (jnp.asarray(a, dtype) * s) @ jnp.asarray(b, dtype).T

    @property
    def observed(self) -> jax.Array:
        """M = M* + σE (m, n)."""
        noise = jnp.asarray(self._host()[2], jnp.result_type(float))
        return self.target + self.noise * noise

    def dataset(self) -> dict[str, jax.Array]:
        *_, rows, cols = self._host()
        rows, cols = jnp.asarray(rows), jnp.asarray(cols)
        return {"i": rows, "j": cols, "value": self.observed[rows, cols]}

    def init(self, key: jax.Array) -> dict[str, jax.Array]:
        dtype = jnp.result_type(float)
        k_u, k_v = jax.random.split(key)
        std = self.init_scale / jnp.sqrt(self.rank)
        return {
            "u": std * jax.random.normal(k_u, (self.rows, self.rank), dtype),
            "v": std * jax.random.normal(k_v, (self.cols, self.rank), dtype),
        }

    def predict(self, params: dict[str, jax.Array], index: dict[str, jax.Array]) -> jax.Array:
        """(UVᵀ)_{ij} for ``index = {"i": rows, "j": cols}`` (batch keys ``"i"``, ``"j"``)."""
        return jnp.sum(params["u"][index["i"]] * params["v"][index["j"]], axis=-1)

    def example_loss(self, params: dict[str, jax.Array], example: dict) -> jax.Array:
        return 0.5 * (self.predict(params, example) - example["value"]) ** 2

    def loss(self, params: dict[str, jax.Array], batch: dict) -> jax.Array:
        return 0.5 * jnp.mean((self.predict(params, batch) - batch["value"]) ** 2)

    def metrics(self, params: dict[str, jax.Array]) -> dict[str, jax.Array]:
        u, v = params["u"], params["v"]
        error = u @ v.T - self.target
        return {
            "population_risk": 0.5 * jnp.mean(error**2),
            "relative_error": jnp.linalg.norm(error) / jnp.linalg.norm(self.target),
            "imbalance": jnp.linalg.norm(u.T @ u - v.T @ v),
        }

    @property
    def f_star(self) -> jax.Array | None:
        if self.observed_fraction < 1.0:
            return None
        singular = jnp.linalg.svd(self.observed, compute_uv=False)
        return 0.5 * jnp.sum(singular[self.rank :] ** 2) / (self.rows * self.cols)
