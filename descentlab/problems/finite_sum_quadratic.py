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

Heterogeneous Hessians (``hessian_spread`` h > 0; h = 0, the default, is the problem above, bit for bit):
component i has :math:`A_i=A\,\mathrm{diag}(1+h\,r_i)`, :math:`r_{ij}=\operatorname{sign}(b_{ij}-m_j)` with
:math:`m_j` the median of the centres' j-th coordinates, so in each coordinate the components on one side
of the median are stiffer (:math:`1+h`) than those on the other (:math:`1-h`), half of each for even n. The
mean Hessian is still A (so F − F*, L and μ are unchanged), :math:`x^\star=\bar b+h\,\overline{r\odot b}`,
and the curvature correlates with the gradient at the optimum :math:`\nabla f_i(x^\star)=A_i(x^\star-b_i)`:
the epoch's mean drift :math:`-\frac{\gamma^2}2\sum_iA_i\nabla f_i(x^\star)` no longer vanishes, which gives
random reshuffling the :math:`1/(nK)^2` term of its rate (Safran & Shamir 2020; :mod:`descentlab.theory.shuffling`).

Prioritized objective (``priority_exponent`` α > 0; α = 0, the default, is the problem above, bit for bit):
:math:`F(x)=\sum_ip_if_i(x)` with :math:`p_i\propto(i+1)^{-\alpha}` (:func:`descentlab.problems.samplers.priorities`),
the objective that SGD descends when the examples are drawn ∝ :math:`p_i` without importance weights (the
``prioritized`` and ``prioritized_reshuffling`` samplers, with α = their ``PRIORITY_EXPONENT``). With the shared
Hessian :math:`x^\star=\sum_ip_ib_i` and :math:`F-F^\star=\tfrac12(x-x^\star)^\top A(x-x^\star)`; it requires h = 0.
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
from descentlab.problems.samplers import priorities


@functools.lru_cache(maxsize=16)
def _centres(n: int, dim: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, dim))


@functools.lru_cache(maxsize=16)
def _median(n: int, dim: int, seed: int) -> np.ndarray:
    return np.median(_centres(n, dim, seed), axis=0)


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
    hessian_spread: float = hyper(
        0.0,
        "component Hessians A(1 ± h): 1 + h above the centres' median, 1 − h below",
        low=0.0,
        high=1.0,
        high_open=True,
    )
    priority_exponent: float = static(
        0.0, "F = Σ p_i f_i with p_i ∝ (i + 1)^-α (the prioritized samplers' objective); 0: the uniform mean", low=0.0
    )

    def __post_init__(self):
        super().__post_init__()
        concrete = isinstance(self.hessian_spread, int | float)  # a traced h is not checked here
        if self.priority_exponent != 0.0 and concrete and self.hessian_spread != 0.0:
            raise ValueError("priority_exponent > 0 needs hessian_spread = 0 (a shared Hessian)")

    @property
    def weights(self) -> jax.Array:
        """p_i of the prioritized objective (α > 0 only)."""
        return priorities(self.n, self.priority_exponent)

    @property
    def eigenvalues(self) -> jax.Array:
        return jnp.linspace(self.mu, 1.0, self.dim) if self.dim > 1 else jnp.ones(1) * self.mu

    def dataset(self) -> dict:
        return {"b": self.spread * jnp.asarray(_centres(self.n, self.dim, self.data_seed), jnp.result_type(float))}

    def sides(self, b: jax.Array) -> jax.Array:
        """r = sign(b − median of the centres), per coordinate: +1 above the median, −1 below (0 at it)."""
        return jnp.sign(b - self.spread * jnp.asarray(_median(self.n, self.dim, self.data_seed), b.dtype))

    def curvature(self, b: jax.Array) -> jax.Array:
        """The diagonal of the Hessian of the component(s) centred at ``b``: λ ⊙ (1 + h r)."""
        return self.eigenvalues * (1.0 + self.hessian_spread * self.sides(b))

    def _heterogeneity(self, b: jax.Array, squares: jax.Array) -> jax.Array:
        """½ h Σ_j λ_j r_j squares_j (last axis): what A_i adds to ½ Σ λ squares. Added to the shared-Hessian
        value rather than folded into it, so that h = 0 leaves that value and its gradient bit for bit."""
        return 0.5 * self.hessian_spread * jnp.sum(self.eigenvalues * self.sides(b) * squares, axis=-1)

    @property
    def x_star(self) -> jax.Array:
        b = self.dataset()["b"]
        if self.priority_exponent != 0.0:
            return self.weights @ b
        return jnp.mean(b, axis=0) + self.hessian_spread * jnp.mean(self.sides(b) * b, axis=0)

    def init(self, key: jax.Array) -> jax.Array:
        direction = jnp.ones(self.dim, jnp.result_type(float)) / np.sqrt(self.dim)
        return self.x_star + self.init_distance * direction

    def example_loss(self, params: jax.Array, example: dict) -> jax.Array:
        diff = params - example["b"]
        return 0.5 * jnp.sum(self.eigenvalues * diff**2) + self._heterogeneity(example["b"], diff**2)

    def suboptimality(self, params: jax.Array) -> jax.Array:
        diff = params - self.x_star
        return 0.5 * jnp.sum(self.eigenvalues * diff**2)

    def metrics(self, params: jax.Array) -> dict[str, jax.Array]:
        return {
            "suboptimality": self.suboptimality(params),
            "distance_to_optimum": jnp.sqrt(jnp.sum((params - self.x_star) ** 2)),
        }

    @property
    def f_star(self) -> jax.Array:
        b = self.dataset()["b"]
        diff = b - self.x_star
        if self.priority_exponent != 0.0:
            return 0.5 * self.weights @ jnp.sum(self.eigenvalues * diff**2, axis=1)
        return 0.5 * jnp.mean(jnp.sum(self.eigenvalues * diff**2, axis=1)) + jnp.mean(self._heterogeneity(b, diff**2))

    @property
    def smoothness(self) -> jax.Array:
        return jnp.asarray(1.0)

    @property
    def strong_convexity(self) -> jax.Array:
        return jnp.asarray(self.mu)

    def optimum(self) -> jax.Array:
        return self.x_star
