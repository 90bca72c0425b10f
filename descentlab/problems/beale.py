r"""Beale's function, a two-dimensional test with flat regions and sharp ridges.

.. math:: f(x, y) = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2,

with :math:`f^\star = 0` at :math:`(3, 0.5)`. Start: (1, 1) plus ``init_scale`` · N(0, I).

References: Beale, *On an iterative method for finding a local minimum of a function of more than
one variable* (1958); Jamil & Yang, *A literature survey of benchmark functions for global
optimization problems* (1308.4008).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import jax
import jax.numpy as jnp

from descentlab.problems._oracle import OracleProblem
from descentlab.problems.base import hyper
from descentlab.problems.registry import register_problem


@register_problem("beale")
@dataclasses.dataclass(frozen=True)
class Beale(OracleProblem):
    """Beale's function on R²: f* = 0 at (3, 0.5)."""

    summary = "Beale's function on R² (flat plateaus, sharp ridges); f* = 0 at (3, 0.5)."
    references = (
        "Beale. On an iterative method for finding a local minimum of a function of more than one variable (1958)",
        "Jamil, Yang. A literature survey of benchmark functions for global optimization problems (1308.4008)",
    )
    tiny: ClassVar[dict] = {"init_scale": 0.1, "grad_noise": 0.1}

    init_scale: float = hyper(0.0, "x₀ = (1, 1) + init_scale · N(0, I)", low=0.0)
    grad_noise: float = hyper(0.0, "stochastic oracle: σ of the additive gradient noise", low=0.0)

    def init(self, key: jax.Array) -> jax.Array:
        dtype = jnp.result_type(float)
        return jnp.ones((2,), dtype) + self.init_scale * jax.random.normal(key, (2,), dtype)

    def value(self, params: jax.Array) -> jax.Array:
        x, y = params[0], params[1]
        return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2

    def metrics(self, params: jax.Array) -> dict[str, jax.Array]:
        return {"suboptimality": self.value(params), "distance_to_optimum": jnp.linalg.norm(params - self.optimum())}

    @property
    def f_star(self) -> jax.Array:
        return jnp.zeros((), jnp.result_type(float))

    def optimum(self) -> jax.Array:
        return jnp.asarray([3.0, 0.5], jnp.result_type(float))
