r"""The Lasso: least squares plus an ℓ1 penalty, with its proximal operator exposed.

.. math:: F(w) = \underbrace{\frac1{2n}\lVert Xw - y\rVert^2}_{g(w)} + \underbrace{\lambda\lVert w\rVert_1}_{h(w)},

on n points :math:`x_i\sim\mathcal N(0, I_d/d)`, :math:`y = Xw^\star+\sigma\varepsilon` with a k-sparse teacher
(``sparsity`` k; data fixed by ``data_seed``). ``loss`` is the full objective F (its per-example
terms :math:`\tfrac12(x_i^\top w-y_i)^2 + h(w)` average to F, so subgradient methods apply directly);
with ``l1_in_loss = false`` it is g alone, for a proximal optimizer that handles h itself
(``proximal_l1`` with ``l1`` = λ) — the ``suboptimality`` metric always measures F − F* (``l1_norm`` is
:math:`\lVert w\rVert_1`, ``nonzeros`` the support size);
``smooth_loss`` is g alone and ``prox(w, step)`` is the soft-thresholding
:math:`\mathrm{prox}_{\eta h}(w)_j = \mathrm{sign}(w_j)\max(|w_j|-\eta\lambda, 0)` for proximal gradient /
ISTA / FISTA. ``smoothness`` is the Lipschitz constant of ∇g, :math:`\lambda_{\max}(X^\top X/n)`; when
n ≥ d, ``strong_convexity`` is :math:`\lambda_{\min}(X^\top X/n)`. ``f_star`` comes from cyclic
coordinate descent run to machine precision, once per configuration.

References: Tibshirani, *Regression shrinkage and selection via the lasso* (1996); Beck, Teboulle,
*A fast iterative shrinkage-thresholding algorithm for linear inverse problems* (2009); Friedman,
Hastie, Tibshirani, *Regularization paths for generalized linear models via coordinate descent* (2010).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from descentlab.params import SpecError
from descentlab.problems._finite_linear import FiniteLinear, lasso_data, lasso_solution
from descentlab.problems.base import Problem, hyper, static
from descentlab.problems.registry import register_problem


@functools.lru_cache(maxsize=16)
def _gram_eigenvalues(n: int, dim: int, seed: int, sparsity: int, noise: float) -> np.ndarray:
    x, _ = lasso_data(n, dim, seed, sparsity, noise)
    return np.linalg.eigvalsh(x.T @ x / n)


@register_problem("lasso")
@dataclasses.dataclass(frozen=True)
class Lasso(FiniteLinear, Problem):
    """(1/2n)‖Xw − y‖² + λ‖w‖₁ with a sparse teacher; prox exposed; f* from coordinate descent."""

    summary = "Lasso (1/2n)‖Xw−y‖² + λ‖w‖₁, sparse teacher; soft-thresholding prox exposed; exact f*."
    references = (
        "Tibshirani. Regression shrinkage and selection via the lasso (1996)",
        "Beck, Teboulle. A fast iterative shrinkage-thresholding algorithm (FISTA) (2009)",
        "Friedman, Hastie, Tibshirani. Regularization paths for GLMs via coordinate descent (2010)",
    )
    tiny: ClassVar[dict] = {"dim": 5, "n_samples": 12, "sparsity": 2, "init_scale": 1.0}

    dim: int = static(50, "dimension d", low=1, high=10_000)
    n_samples: int = static(100, "number of training points n", low=1, high=100_000)
    sparsity: int = static(5, "nonzero entries of the teacher", low=1)
    noise: float = static(0.5, "label noise σ (static: f* is solved per value)", kind="float", low=0.0)
    regularization: float = static(0.05, "λ (static: f* is solved per value)", kind="float", low=0.0, low_open=True)
    data_seed: int = static(0, "seed of the data", low=0)
    init_scale: float = hyper(0.0, "w₀ ~ init_scale · N(0, I/d)", low=0.0)
    l1_in_loss: bool = static(True, "loss = g + λ‖w‖₁ (false: g only, for a proximal optimizer with l1 = λ)")

    arrays: ClassVar[tuple] = (("n_samples", "dim"),)
    example: ClassVar[tuple] = ("dim",)

    @classmethod
    def check(cls, values) -> None:
        if values["sparsity"] > values["dim"]:
            raise SpecError("problem.sparsity", values["sparsity"], f"at most dim = {values['dim']}")

    def _key(self) -> tuple:
        return (self.n_samples, self.dim, self.data_seed, self.sparsity, self.noise)

    def _data(self):
        return lasso_data(*self._key())

    def _solution(self):
        return lasso_solution(*self._key(), self.regularization)

    def regularizer(self, params: jax.Array) -> jax.Array:
        """h(w) = λ‖w‖₁."""
        return self.regularization * jnp.sum(jnp.abs(params))

    def smooth_loss(self, params: jax.Array, batch: dict) -> jax.Array:
        """g on a batch: (1/2b) Σ (xᵢᵀw − yᵢ)²."""
        return 0.5 * jnp.mean((batch["x"] @ params - batch["y"]) ** 2)

    def prox(self, params: jax.Array, step: jax.Array) -> jax.Array:
        """prox_{step·h}(w): soft thresholding at step·λ."""
        return jnp.sign(params) * jnp.maximum(jnp.abs(params) - step * self.regularization, 0.0)

    def _penalty(self, params: jax.Array) -> jax.Array:
        return self.regularizer(params) if self.l1_in_loss else jnp.zeros((), params.dtype)

    def example_loss(self, params: jax.Array, example: dict) -> jax.Array:
        return 0.5 * (example["x"] @ params - example["y"]) ** 2 + self._penalty(params)

    def loss(self, params: jax.Array, batch: dict) -> jax.Array:
        return self.smooth_loss(params, batch) + self._penalty(params)

    def objective(self, params: jax.Array) -> jax.Array:
        """F(w) on the whole training set, whatever ``l1_in_loss``."""
        return self.smooth_loss(params, self.dataset()) + self.regularizer(params)

    def metrics(self, params: jax.Array) -> dict[str, jax.Array]:
        out = {"suboptimality": self.objective(params) - self.f_star}
        out["nonzeros"] = jnp.sum(params != 0).astype(jnp.result_type(float))
        out["l1_norm"] = jnp.sum(jnp.abs(params))
        return out

    @property
    def f_star(self) -> float:
        """min F (with the ℓ1 term, whatever ``l1_in_loss``)."""
        return self._solution()[1]

    @property
    def smoothness(self) -> float:
        return float(_gram_eigenvalues(*self._key())[-1])

    @property
    def strong_convexity(self) -> float | None:
        if self.n_samples < self.dim:
            return None
        return float(_gram_eigenvalues(*self._key())[0])
