r"""A quadratic with a chosen condition number — the textbook benchmark of first-order methods.

.. math:: f(x) = \tfrac12 x^\top A x,\qquad A = Q\,\mathrm{diag}(\lambda)\,Q^\top,\qquad
          \lambda_i = \kappa^{-(i-1)/(d-1)} ,

so :math:`L = \lambda_{\max} = 1`, :math:`\mu = \lambda_{\min} = 1/\kappa`, :math:`f^\star = 0` at
:math:`x^\star = 0`. The eigenvalues are geometrically spaced between :math:`1/\kappa` and 1;
``rotation_seed = -1`` keeps A diagonal (axis-aligned, where coordinate-wise methods such as Adam or
sign descent shine), any seed ≥ 0 rotates it by a Haar-random orthogonal Q.
Start: :math:`x_0 = s\,g/\sqrt d`, :math:`g\sim\mathcal N(0,I)` (``s = init_scale``).
Optional stochastic oracle (Gaussian, or heavy-tailed Student-t with ``noise_tail`` = ν > 0): see
:mod:`descentlab.problems._oracle`.

Gradient descent with step 1/L converges as :math:`(1-1/\kappa)^{t}`, heavy ball / Nesterov as
:math:`(1-1/\sqrt\kappa)^t` (Nesterov, *Introductory Lectures on Convex Optimization*, 2004;
Polyak 1964).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from descentlab.problems._oracle import OracleProblem
from descentlab.problems.base import hyper, static
from descentlab.problems.registry import register_problem


@functools.lru_cache(maxsize=16)
def haar_orthogonal(dim: int, seed: int) -> np.ndarray:
    """A Haar-distributed orthogonal matrix (QR of a Gaussian with the sign fix)."""
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((dim, dim)))
    return q * np.sign(np.diag(r))


@register_problem("quadratic")
@dataclasses.dataclass(frozen=True)
class Quadratic(OracleProblem):
    """f(x) = ½ xᵀAx with eigenvalues κ^{-(i-1)/(d-1)}: L = 1, μ = 1/κ, f* = 0."""

    summary = "Quadratic ½xᵀAx with condition number κ (L = 1, μ = 1/κ), axis-aligned or rotated."
    references = (
        "Nesterov. Introductory Lectures on Convex Optimization (2004), ch. 2",
        "Polyak. Some methods of speeding up the convergence of iteration methods (1964)",
    )
    tiny: ClassVar[dict] = {"dim": 5, "condition_number": 10.0, "rotation_seed": 1, "grad_noise": 0.1}
    example: ClassVar[tuple] = ("dim",)

    @classmethod
    def data_elements(cls, values) -> dict[tuple[str, ...], int]:
        """The rotation (d, d) and its QR when ``rotation_seed >= 0``; nothing for a diagonal A."""
        return {("dim", "rotation_seed"): 3 * values["dim"] ** 2 if values["rotation_seed"] >= 0 else 0}

    dim: int = static(100, "dimension d", low=1, high=100_000)
    condition_number: float = hyper(100.0, "κ = L/μ", low=1.0)
    rotation_seed: int = static(-1, "-1: diagonal A; >= 0: seed of a random rotation", low=-1)
    init_scale: float = hyper(1.0, "x₀ ~ init_scale · N(0, I/d)", low=0.0)
    grad_noise: float = hyper(0.0, "stochastic oracle: σ of the additive gradient noise", low=0.0)
    noise_tail: float = static(
        0.0, "0: Gaussian gradient noise; ν > 0: Student-t noise with ν degrees of freedom (tail index ν)", low=0.0
    )

    @property
    def eigenvalues(self) -> jax.Array:
        position = jnp.arange(self.dim, dtype=jnp.result_type(float)) / max(self.dim - 1, 1)
        return jnp.asarray(self.condition_number, position.dtype) ** (-position)

    def _rotate_in(self, x: jax.Array) -> jax.Array:
        if self.rotation_seed < 0:
            return x
        return jnp.asarray(haar_orthogonal(self.dim, self.rotation_seed), x.dtype).T @ x

    def init(self, key: jax.Array) -> jax.Array:
        dtype = jnp.result_type(float)
        return self.init_scale * jax.random.normal(key, (self.dim,), dtype) / jnp.sqrt(self.dim)

    def value(self, params: jax.Array) -> jax.Array:
        return 0.5 * jnp.sum(self.eigenvalues * self._rotate_in(params) ** 2)

    def hessian(self) -> jax.Array:
        """A as a dense matrix."""
        a = jnp.diag(self.eigenvalues)
        if self.rotation_seed < 0:
            return a
        q = jnp.asarray(haar_orthogonal(self.dim, self.rotation_seed), a.dtype)
        return q @ a @ q.T

    def metrics(self, params: jax.Array) -> dict[str, jax.Array]:
        return {"suboptimality": self.value(params), "distance_to_optimum": jnp.linalg.norm(params)}

    @property
    def f_star(self) -> jax.Array:
        return jnp.zeros((), jnp.result_type(float))

    @property
    def smoothness(self) -> jax.Array:
        return jnp.max(self.eigenvalues)

    @property
    def strong_convexity(self) -> jax.Array:
        return jnp.min(self.eigenvalues)

    def optimum(self) -> jax.Array:
        return jnp.zeros((self.dim,), jnp.result_type(float))
