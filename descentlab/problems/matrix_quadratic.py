r"""A matrix quadratic whose Hessian's rank and conditioning are set: the test bed of Muon against GD.

Parameter :math:`W\in\mathbb R^{m\times n}` (``{"w": (m, n)}``, 2-D: Muon applies), objective

.. math:: f(W) = \tfrac12\operatorname{tr}\big((W-W^\star)^\top A\,(W-W^\star)\big),
   \qquad A = Q\,\operatorname{diag}(\lambda)\,Q^\top,

with :math:`Q` a Haar orthogonal :math:`m\times m` matrix and :math:`W^\star\sim\mathcal N(0, 1/n)` (both from
``teacher_seed``), the spectrum :math:`\lambda_i=\kappa^{-(i-1)/(k-1)}` for :math:`i\le k` (log-spaced from 1 down
to :math:`1/\kappa`; ``hessian_rank`` k, ``condition`` κ) and :math:`\lambda_i=0` for :math:`i>k`. The Hessian
of f as a function of :math:`\operatorname{vec}(W)` is :math:`I_n\otimes A`: block diagonal (one block A per
column), of rank nk. Its constants (Shen et al. 2505.23737):

* Frobenius smoothness :math:`L=\|A\|_{op}=\lambda_1=1`;
* spectral-norm smoothness :math:`L_*=\sup_{\|\Delta\|_{op}\le1}\|A\Delta\|_*=\|A\|_*=\operatorname{tr}A`
  (:math:`\|A\Delta\|_*\le\|A\|_*\|\Delta\|_{op}`, equality at :math:`\Delta=I`), exposed as
  ``nuclear_smoothness``.

:math:`f^\star=0` at :math:`W^\star`. Start :math:`W_0 = W^\star + s\,G/\sqrt n` with :math:`G` standard normal
from the run's key (``init_scale`` s). Metrics: ``suboptimality`` :math:`f(W)` and ``distance_to_optimum``
:math:`\|W-W^\star\|_F`. Exact gradients unless ``grad_noise`` > 0 (see :mod:`descentlab.problems._oracle`).

References: Shen, Huang, Huang, Shen, Zhang, *On the Convergence Analysis of Muon* (2505.23737); Jordan et al.,
*Muon: An optimizer for hidden layers in neural networks* (2024).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from descentlab.params import SpecError
from descentlab.problems._oracle import OracleProblem
from descentlab.problems.base import hyper, static
from descentlab.problems.registry import register_problem


def hessian_spectrum(rows: int, rank: int, condition: float) -> np.ndarray:
    """λ of A: ``rank`` values log-spaced from 1 to 1/``condition``, then zeros (length ``rows``)."""
    lam = np.zeros(rows)
    lam[:rank] = np.geomspace(1.0, 1.0 / condition, rank) if rank > 1 else 1.0
    return lam


@functools.lru_cache(maxsize=16)
def _matrix_quadratic_data(rows: int, cols: int, rank: int, condition: float, seed: int) -> tuple[np.ndarray, ...]:
    """(A (m, m), W* (m, n)) in float64."""
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.standard_normal((rows, rows)))
    q = q * np.sign(np.diag(r))  # Haar
    a = (q * hessian_spectrum(rows, rank, condition)) @ q.T
    return 0.5 * (a + a.T), rng.standard_normal((rows, cols)) / np.sqrt(cols)


@register_problem("matrix_quadratic")
@dataclasses.dataclass(frozen=True)
class MatrixQuadratic(OracleProblem):
    """½ tr((W−W*)ᵀ A (W−W*)) with A of set rank and condition number; Hessian I ⊗ A."""

    summary = "Matrix quadratic ½tr((W−W*)ᵀA(W−W*)): Hessian I⊗A block diagonal, A of set rank and condition; f* = 0."
    references = (
        "Shen, Huang, Huang, Shen, Zhang. On the Convergence Analysis of Muon (2505.23737)",
        "Jordan et al. Muon: An optimizer for hidden layers in neural networks (2024)",
    )
    tiny: ClassVar[dict] = {"rows": 4, "cols": 3, "hessian_rank": 2, "condition": 10.0, "grad_noise": 0.1}
    arrays: ClassVar[tuple] = (("rows", "rows"), ("rows", "cols"))
    example: ClassVar[tuple] = ("rows", "cols")

    rows: int = static(32, "m: rows of W (A is m×m)", low=1, high=4_096)
    cols: int = static(32, "n: columns of W", low=1, high=4_096)
    hessian_rank: int = static(32, "k: rank of A (≤ m)", low=1)
    condition: float = static(1.0, "κ: A's nonzero eigenvalues are log-spaced from 1 to 1/κ", low=1.0)
    teacher_seed: int = static(0, "seed of A's eigenvectors and of W*", low=0)
    init_scale: float = hyper(1.0, "W0 = W* + s·N(0, 1/n)", low=0.0)
    grad_noise: float = hyper(0.0, "stochastic oracle: σ of the additive gradient noise", low=0.0)

    @classmethod
    def check(cls, values) -> None:
        if values["hessian_rank"] > values["rows"]:
            raise SpecError("problem.hessian_rank", values["hessian_rank"], f"at most rows = {values['rows']}")

    def _data(self) -> tuple[jax.Array, jax.Array]:
        a, w_star = _matrix_quadratic_data(self.rows, self.cols, self.hessian_rank, self.condition, self.teacher_seed)
        dtype = jnp.result_type(float)
        return jnp.asarray(a, dtype), jnp.asarray(w_star, dtype)

    def init(self, key: jax.Array) -> dict[str, jax.Array]:
        _, w_star = self._data()
        noise = jax.random.normal(key, (self.rows, self.cols), w_star.dtype)
        return {"w": w_star + self.init_scale * noise / np.sqrt(self.cols)}

    def value(self, params: dict[str, jax.Array]) -> jax.Array:
        a, w_star = self._data()
        delta = params["w"] - w_star
        return 0.5 * jnp.sum(delta * (a @ delta))

    def metrics(self, params: dict[str, jax.Array]) -> dict[str, jax.Array]:
        _, w_star = self._data()
        return {"suboptimality": self.value(params), "distance_to_optimum": jnp.linalg.norm(params["w"] - w_star)}

    @property
    def f_star(self) -> jax.Array:
        return jnp.zeros((), jnp.result_type(float))

    @property
    def smoothness(self) -> float:
        """L = ‖A‖_op = 1 (the largest eigenvalue of the spectrum)."""
        return 1.0

    @property
    def nuclear_smoothness(self) -> float:
        """L_* = tr A: smoothness of ∇f from the spectral norm to the nuclear norm."""
        return float(hessian_spectrum(self.rows, self.hessian_rank, self.condition).sum())

    def optimum(self) -> dict[str, jax.Array]:
        return {"w": self._data()[1]}
