r"""Over-parameterized matrix sensing: recover a low-rank PSD matrix from random linear measurements.

Target :math:`X^\star = U^\star U^{\star\top}` with :math:`U^\star\in\mathbb R^{d\times r^\star}` orthonormal
(from ``teacher_seed``), so :math:`\|X^\star\|_F^2 = r^\star`. Measurements :math:`A_i\in\mathbb R^{d\times d}`
with i.i.d. :math:`\mathcal N(0,1)` entries, :math:`y_i = \langle A_i, X^\star\rangle + \sigma\varepsilon_i`,
:math:`i = 1..n` (a fixed dataset; ``n_measurements`` of order :math:`d r^\star` gives the RIP regime).
Model :math:`X = UU^\top`, :math:`U\in\mathbb R^{d\times k}` (``rank`` k may exceed :math:`r^\star`), loss

.. math:: \ell(U; A_i, y_i) = \tfrac12\big(\langle A_i, UU^\top\rangle - y_i\big)^2 .

Because :math:`\mathbb E\langle A, \Delta\rangle^2 = \|\Delta\|_F^2`, the population risk is exact:
:math:`\mathcal R(U) = \tfrac12\|UU^\top - X^\star\|_F^2 + \tfrac{\sigma^2}2`; the metric ``recovery_error`` is
:math:`\|UU^\top - X^\star\|_F/\|X^\star\|_F`. Small initialization :math:`U_0\sim\mathcal N(0, s_0^2/d)`
(``init_scale`` = :math:`s_0`) gives the implicit low-rank bias of gradient descent studied by Li, Ma, Zhang.
The training minimum is 0 when σ = 0 and k ≥ r* (X* interpolates); otherwise it is not stated.
Parameters ``{"u": (d, k)}`` (2-D: Muon applies). Batches ``{"a": (b, d, d), "y": (b,)}``;
``predict(params, a)`` gives :math:`\langle A, UU^\top\rangle`.

References: Li, Ma, Zhang, *Algorithmic Regularization in Over-parameterized Matrix Sensing and Neural
Networks with Quadratic Activations* (1712.09203); Gunasekar et al., *Implicit Regularization in Matrix
Factorization* (1705.09280); Stöger, Soltanolkotabi, *Small random initialization is akin to spectral
learning* (2106.15013).
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


@functools.lru_cache(maxsize=8)
def _sensing_data(d: int, r: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(U* (d, r), A (n, d, d), ε (n,))."""
    rng = np.random.default_rng(seed)
    u_star, _ = np.linalg.qr(rng.standard_normal((d, r)))
    return u_star, rng.standard_normal((n, d, d)), rng.standard_normal(n)


@register_problem("matrix_sensing")
@dataclasses.dataclass(frozen=True)
class MatrixSensing(Problem):
    """Symmetric matrix sensing with a factorized UUᵀ model; exact population risk."""

    summary = "Matrix sensing y = ⟨A, X*⟩ with low-rank PSD X*, factorized model UUᵀ; exact risk, recovery error."
    references = (
        "Li, Ma, Zhang. Algorithmic Regularization in Over-parameterized Matrix Sensing and Neural Networks with "
        "Quadratic Activations (1712.09203)",
        "Gunasekar, Woodworth, Bhojanapalli, Neyshabur, Srebro. Implicit Regularization in Matrix Factorization "
        "(1705.09280)",
        "Stöger, Soltanolkotabi. Small random initialization is akin to spectral learning (2106.15013)",
    )
    is_stream = False
    monitor = "population_risk"
    tiny: ClassVar[dict] = {"dim": 4, "rank": 3, "target_rank": 1, "n_measurements": 12}

    dim: int = static(20, "d: size of the d×d matrix", low=1, high=2_000)
    rank: int = static(20, "k: columns of U (k ≥ r* is over-parameterized)", low=1, high=2_000)
    target_rank: int = static(2, "r*: rank of X* (≤ d)", low=1)
    n_measurements: int = static(400, "n: number of measurements", low=1, high=10_000_000)
    teacher_seed: int = static(0, "seed of X*, the measurements and the noise", low=0)
    noise: float = hyper(0.0, "measurement noise σ", low=0.0)
    init_scale: float = hyper(0.01, "U0 ~ N(0, s0²/d)", low=0.0)

    arrays: ClassVar[tuple] = (("n_measurements", "dim", "dim"), ("dim", "rank"))
    example: ClassVar[tuple] = ("dim", "dim")

    @classmethod
    def check(cls, values) -> None:
        if values["target_rank"] > values["dim"]:
            raise SpecError("problem.target_rank", values["target_rank"], f"at most dim = {values['dim']}")

    @property
    def target(self) -> jax.Array:
        u_star = jnp.asarray(
            _sensing_data(self.dim, self.target_rank, self.n_measurements, self.teacher_seed)[0], jnp.result_type(float)
        )
        return u_star @ u_star.T

    def dataset(self) -> dict[str, jax.Array]:
        _, a, eps = _sensing_data(self.dim, self.target_rank, self.n_measurements, self.teacher_seed)
        dtype = jnp.result_type(float)
        a = jnp.asarray(a, dtype)
        y = jnp.einsum("nij,ij->n", a, self.target) + self.noise * jnp.asarray(eps, dtype)
        return {"a": a, "y": y}

    def init(self, key: jax.Array) -> dict[str, jax.Array]:
        std = self.init_scale / jnp.sqrt(self.dim)
        return {"u": std * jax.random.normal(key, (self.dim, self.rank), jnp.result_type(float))}

    def predict(self, params: dict[str, jax.Array], a: jax.Array) -> jax.Array:
        """⟨A, UUᵀ⟩ = tr(Uᵀ A U) for measurement matrices ``a`` of shape (…, d, d) (batch key ``"a"``)."""
        u = params["u"]
        return jnp.einsum("...ij,ik,jk->...", a, u, u)

    def example_loss(self, params: dict[str, jax.Array], example: dict) -> jax.Array:
        return 0.5 * (self.predict(params, example["a"]) - example["y"]) ** 2

    def loss(self, params: dict[str, jax.Array], batch: dict) -> jax.Array:
        return 0.5 * jnp.mean((self.predict(params, batch["a"]) - batch["y"]) ** 2)

    def metrics(self, params: dict[str, jax.Array]) -> dict[str, jax.Array]:
        u = params["u"]
        error = u @ u.T - self.target
        return {
            "population_risk": 0.5 * jnp.sum(error**2) + 0.5 * self.noise**2,
            "recovery_error": jnp.linalg.norm(error) / jnp.sqrt(self.target_rank),
        }
