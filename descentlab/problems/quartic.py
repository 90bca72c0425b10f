r"""A nonconvex quartic: d independent double wells, a strict saddle at the origin.

.. math:: f(x) = \tfrac14\sum_{i=1}^d \lambda_i\,(x_i^2 - 1)^2,\qquad \lambda_i = i^{-\alpha},

with :math:`f^\star = 0` on the :math:`2^d` minimizers :math:`x\in\{\pm1\}^d`; the origin is a critical
point (a local maximum, Hessian :math:`-\mathrm{diag}(\lambda)`), and every point with some
coordinates at 0 is a saddle. Started near the origin (``init_scale`` · N(0, I/d)), gradient descent
escapes along each direction at rate :math:`1+\eta\lambda_i` — the model of saddle escape
(Ge, Huang, Jin, Yuan 2015, 1503.02101; Jin et al. 2017, 1703.00887). Each minimizer has Hessian
:math:`2\,\mathrm{diag}(\lambda)`. The metric ``distance_to_optimum`` is the distance to the nearest
minimizer, :math:`\lVert |x| - 1\rVert`.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import jax
import jax.numpy as jnp

from descentlab.problems._oracle import OracleProblem
from descentlab.problems.base import hyper, static
from descentlab.problems.registry import register_problem


@register_problem("quartic")
@dataclasses.dataclass(frozen=True)
class Quartic(OracleProblem):
    """¼ Σ λ_i (x_i² − 1)²: f* = 0 on {±1}^d, a strict saddle at 0."""

    summary = "Nonconvex quartic ¼Σλᵢ(xᵢ²−1)²: minima {±1}^d with f* = 0, a strict saddle at the origin."
    references = (
        "Ge, Huang, Jin, Yuan. Escaping from saddle points (1503.02101)",
        "Jin, Ge, Netrapalli, Kakade, Jordan. How to escape saddle points efficiently (1703.00887)",
    )
    tiny: ClassVar[dict] = {"dim": 4, "alpha": 0.5, "init_scale": 0.5, "grad_noise": 0.1}
    example: ClassVar[tuple] = ("dim",)

    dim: int = static(10, "dimension d", low=1, high=1_000_000)
    alpha: float = hyper(0.0, "curvature profile λ_i = i^-α", low=0.0, high=10.0)
    init_scale: float = hyper(0.01, "x₀ ~ init_scale · N(0, I/d)", low=0.0)
    grad_noise: float = hyper(0.0, "stochastic oracle: σ of the additive gradient noise", low=0.0)

    @property
    def curvatures(self) -> jax.Array:
        return jnp.arange(1, self.dim + 1, dtype=jnp.result_type(float)) ** (-self.alpha)

    def init(self, key: jax.Array) -> jax.Array:
        dtype = jnp.result_type(float)
        return self.init_scale * jax.random.normal(key, (self.dim,), dtype) / jnp.sqrt(self.dim)

    def value(self, params: jax.Array) -> jax.Array:
        return 0.25 * jnp.sum(self.curvatures * (params**2 - 1.0) ** 2)

    def metrics(self, params: jax.Array) -> dict[str, jax.Array]:
        return {
            "suboptimality": self.value(params),
            "distance_to_optimum": jnp.linalg.norm(jnp.abs(params) - 1.0),
        }

    @property
    def f_star(self) -> jax.Array:
        return jnp.zeros((), jnp.result_type(float))

    def optimum(self) -> jax.Array:
        """The minimizer (1, …, 1) (one of 2^d)."""
        return jnp.ones((self.dim,), jnp.result_type(float))
