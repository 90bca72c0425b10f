r"""The Rosenbrock function (chained, d ≥ 2): a curved narrow valley.

.. math:: f(x) = \sum_{i=1}^{d-1} \big[a\,(x_{i+1}-x_i^2)^2 + (1-x_i)^2\big],

with :math:`f^\star = 0` at :math:`x^\star = (1,\dots,1)` (the global minimum for every d; for
4 ≤ d ≤ 7 there is also a local minimum near :math:`(-1,1,\dots,1)`). Start: the classical
:math:`(-1.2, 1, -1.2, 1, \dots)` plus ``init_scale`` · N(0, I). Not globally L-smooth; at the
minimum the Hessian's condition number is about 2500 for a = 100 (d = 2).

References: Rosenbrock, *An automatic method for finding the greatest or least value of a function*
(Computer Journal, 1960); Shang & Qiu, *A note on the extended Rosenbrock function* (Evol. Comput. 2006).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import jax
import jax.numpy as jnp

from descentlab.problems._oracle import OracleProblem
from descentlab.problems.base import hyper, static
from descentlab.problems.registry import register_problem


@register_problem("rosenbrock")
@dataclasses.dataclass(frozen=True)
class Rosenbrock(OracleProblem):
    """Chained Rosenbrock: f* = 0 at (1, …, 1)."""

    summary = "Rosenbrock's curved valley (chained, d ≥ 2); f* = 0 at (1,…,1), classical start (−1.2, 1)."
    references = (
        "Rosenbrock. An automatic method for finding the greatest or least value of a function (1960)",
        "Shang, Qiu. A note on the extended Rosenbrock function (2006)",
    )
    tiny: ClassVar[dict] = {"dim": 3, "init_scale": 0.1, "grad_noise": 0.1}
    example: ClassVar[tuple] = ("dim",)

    dim: int = static(2, "dimension d", low=2, high=100_000)
    a: float = hyper(100.0, "valley steepness a", low=0.0)
    init_scale: float = hyper(0.0, "x₀ = (−1.2, 1, …) + init_scale · N(0, I)", low=0.0)
    grad_noise: float = hyper(0.0, "stochastic oracle: σ of the additive gradient noise", low=0.0)

    def init(self, key: jax.Array) -> jax.Array:
        dtype = jnp.result_type(float)
        start = jnp.where(jnp.arange(self.dim) % 2 == 0, -1.2, 1.0).astype(dtype)
        return start + self.init_scale * jax.random.normal(key, (self.dim,), dtype)

    def value(self, params: jax.Array) -> jax.Array:
        x, x_next = params[:-1], params[1:]
        return jnp.sum(self.a * (x_next - x**2) ** 2 + (1.0 - x) ** 2)

    def metrics(self, params: jax.Array) -> dict[str, jax.Array]:
        return {"suboptimality": self.value(params), "distance_to_optimum": jnp.linalg.norm(params - 1.0)}

    @property
    def f_star(self) -> jax.Array:
        return jnp.zeros((), jnp.result_type(float))

    def optimum(self) -> jax.Array:
        return jnp.ones((self.dim,), jnp.result_type(float))
