r"""A finite sum of quadratics with one shared Hessian — the model problem of shuffling theory.

.. math:: F(x) = \frac1n\sum_{i=1}^n f_i(x),\qquad f_i(x) = \tfrac12 (x-b_i)^\top A (x-b_i),
          \qquad A = \mathrm{diag}(\lambda),\ \lambda_j \text{ evenly spaced in } [\mu, 1],

with :math:`b_i\sim\mathcal N(0, s^2 I)` (``spread`` s, fixed by ``data_seed``). Then
:math:`x^\star=\bar b`, :math:`F(x)-F^\star=\tfrac12(x-\bar b)^\top A(x-\bar b)` exactly (recorded without
cancellation as ``suboptimality``), :math:`L=1`, and the component gradients at the optimum
:math:`\nabla f_i(x^\star)=A(\bar b-b_i)` sum to zero.

Because every component has the same Hessian, the first-order drift of an epoch cancels for *any*
order and, for random reshuffling, the second-order mean drift cancels too. With a constant step γ
the stationary error :math:`E[F-F^\star]` at epoch ends scales as γ (sampling with replacement),
γ² (one fixed permutation: single shuffle or incremental) and γ³ (random reshuffling)
(Safran & Shamir, *How Good is SGD with Random Shuffling?*, COLT 2020; Mishchenko, Khaled,
Richtárik, *Random Reshuffling: Simple Analysis with Vast Improvements*, 2006.05988).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from descentlab.problems.base import Problem, hyper, static
from descentlab.problems.registry import register_problem


@functools.lru_cache(maxsize=16)
def _centres(n: int, dim: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, dim))


@register_problem("finite_sum_quadratic")
@dataclasses.dataclass(frozen=True)
class FiniteSumQuadratic(Problem):
    """F(x) = (1/n) Σ ½(x − b_i)ᵀA(x − b_i): n components sharing one Hessian A."""

    summary = "Finite sum of quadratics with a shared Hessian (shuffling theory's model problem); exact F − F*."
    references = (
        "Safran & Shamir. How Good is SGD with Random Shuffling? (COLT 2020)",
        "Mishchenko, Khaled, Richtárik. Random Reshuffling: Simple Analysis with Vast Improvements (2006.05988)",
    )
    is_stream = False
    monitor = "suboptimality"
    tiny: ClassVar[dict] = {"n": 8, "dim": 3}
    arrays: ClassVar[tuple] = (("n", "dim"),)
    example: ClassVar[tuple] = ("dim",)

    n: int = static(32, "number of components", low=1, high=1_000_000)
    dim: int = static(5, "dimension d", low=1, high=100_000)
    data_seed: int = static(0, "seed of the centres b_i", low=0)
    mu: float = hyper(0.5, "smallest eigenvalue of A (the largest is 1)", low=0.0, low_open=True, high=1.0)
    spread: float = hyper(1.0, "b_i ~ N(0, spread² I)", low=0.0)
    init_distance: float = hyper(1.0, "x₀ = x* + init_distance · u, u a fixed unit vector", low=0.0)

    @property
    def eigenvalues(self) -> jax.Array:
        return jnp.linspace(self.mu, 1.0, self.dim) if self.dim > 1 else jnp.ones(1) * self.mu

    def dataset(self) -> dict:
        return {"b": self.spread * jnp.asarray(_centres(self.n, self.dim, self.data_seed), jnp.result_type(float))}

    @property
    def x_star(self) -> jax.Array:
        return jnp.mean(self.dataset()["b"], axis=0)

    def init(self, key: jax.Array) -> jax.Array:
        direction = jnp.ones(self.dim, jnp.result_type(float)) / np.sqrt(self.dim)
        return self.x_star + self.init_distance * direction

    def example_loss(self, params: jax.Array, example: dict) -> jax.Array:
        diff = params - example["b"]
        return 0.5 * jnp.sum(self.eigenvalues * diff**2)

    def suboptimality(self, params: jax.Array) -> jax.Array:
        diff = params - self.x_star
        return 0.5 * jnp.sum(self.eigenvalues * diff**2)

    def metrics(self, params: jax.Array) -> dict[str, jax.Array]:
        return {"suboptimality": self.suboptimality(params),
                "distance_to_optimum": jnp.sqrt(jnp.sum((params - self.x_star) ** 2))}

    @property
    def f_star(self) -> jax.Array:
        diff = self.dataset()["b"] - self.x_star
        return 0.5 * jnp.mean(jnp.sum(self.eigenvalues * diff**2, axis=1))

    @property
    def smoothness(self) -> jax.Array:
        return jnp.asarray(1.0)

    @property
    def strong_convexity(self) -> jax.Array:
        return jnp.asarray(self.mu)

    def optimum(self) -> jax.Array:
        return self.x_star
