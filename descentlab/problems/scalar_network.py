r"""Scalar networks: a depth-D product of scalar weights fitting one target, the simplest edge-of-stability model.

.. math:: \mathcal L(w) = \tfrac12\Big(\prod_{i=1}^D w_i - y\Big)^2,\qquad w\in\mathbb R^D .

Its minimizers form the manifold :math:`\prod_i w_i = y`. There the Hessian is :math:`gg^\top` with
:math:`g_i = \prod_{j\ne i} w_j = y/w_i`, so the sharpness of a minimizer is :math:`\sum_i y^2/w_i^2`.
Gradient flow conserves the balancedness :math:`w_i^2 - w_j^2`, so the gradient-flow solution from
:math:`w` is :math:`w_i^\infty = \mathrm{sign}(w_i)\sqrt{w_i^2 + c}` with :math:`c > -\min_i w_i^2` solving
:math:`\prod_i \sqrt{w_i^2 + c} = |y|` (when :math:`\prod_i w_i` has the sign of y): its sharpness, the
*GFS sharpness* of Kreisler, Nacson, Soudry, Carmon (2305.13064), is :func:`gfs_sharpness` (closed form up
to a scalar root). Weights start at :math:`w_i = s_0\exp(\rho\,u_i + \epsilon\,\xi_i)`,
:math:`u = \mathrm{linspace}(-1, 1, D)`,
:math:`\xi_i\sim\mathcal N(0,1)` (``init_scale`` s₀, ``imbalance`` ρ, ``init_jitter`` ε): positive, with
s₀ = 1 on the solution manifold up to the jitter, and imbalanced by ρ (large ρ: a sharp GF solution).
``grad_noise`` adds the bounded-variance
gradient noise of :mod:`descentlab.problems._oracle`. Metrics: ``suboptimality`` (the loss),
``product`` :math:`\prod_i w_i`, ``imbalance`` :math:`\max_i w_i^2 - \min_i w_i^2`.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from descentlab.problems._oracle import OracleProblem
from descentlab.problems.base import hyper, static
from descentlab.problems.registry import register_problem


def gfs_point(w: np.ndarray, y: float = 1.0, iterations: int = 200) -> np.ndarray:
    """The gradient-flow solution from ``w`` (NumPy, float64): sign(w)·sqrt(w² + c), c by bisection on
    ∏ sqrt(w² + c) = |y| (requires ∏ w to have the sign of y, as gradient flow then converges there)."""
    w = np.asarray(w, dtype=np.float64)
    sq = w**2
    low, high = -float(sq.min()), 1.0
    while np.prod(np.sqrt(sq + high)) < abs(y):
        high *= 2.0
    for _ in range(iterations):
        mid = 0.5 * (low + high)
        if np.prod(np.sqrt(np.maximum(sq + mid, 0.0))) < abs(y):
            low = mid
        else:
            high = mid
    return np.sign(w) * np.sqrt(np.maximum(sq + 0.5 * (low + high), 0.0))


def gfs_sharpness(w: np.ndarray, y: float = 1.0) -> float:
    """Sharpness Σ y²/w_i² of the gradient-flow solution from ``w`` (closed form; see the module docstring)."""
    return float(np.sum(y**2 / gfs_point(w, y) ** 2))


@register_problem("scalar_network")
@dataclasses.dataclass(frozen=True)
class ScalarNetwork(OracleProblem):
    """½(∏ w_i − y)²: depth-D scalar network; GF conserves w_i² − w_j²."""

    summary = "Scalar network ½(∏wᵢ − y)² of depth D: the simplest edge-of-stability model; exact GF solutions."
    references = (
        "Kreisler, Nacson, Soudry, Carmon. Gradient Descent Monotonically Decreases the Sharpness of Gradient "
        "Flow Solutions in Scalar Networks and Beyond (2305.13064)",
    )
    tiny: ClassVar[dict] = {"depth": 3, "imbalance": 0.5, "init_jitter": 0.1, "grad_noise": 0.1}

    depth: int = static(2, "number of scalar weights D", low=1, high=64)
    target: float = hyper(1.0, "target y", low=-1e6, high=1e6)
    init_scale: float = hyper(1.0, "w_i = s0·exp(ρ u_i + ε ξ_i): scale s0", low=0.0)
    imbalance: float = hyper(1.0, "w_i = s0·exp(ρ u_i + ε ξ_i), u = linspace(-1, 1, D): imbalance ρ", low=0.0)
    init_jitter: float = hyper(0.05, "w_i = s0·exp(ρ u_i + ε ξ_i): random log-jitter ε", low=0.0)
    grad_noise: float = hyper(0.0, "stochastic oracle: σ of the additive gradient noise", low=0.0)

    def init(self, key: jax.Array) -> jax.Array:
        dtype = jnp.result_type(float)
        u = jnp.linspace(-1.0, 1.0, self.depth, dtype=dtype) if self.depth > 1 else jnp.zeros((1,), dtype)
        xi = jax.random.normal(key, (self.depth,), dtype)
        return self.init_scale * jnp.exp(self.imbalance * u + self.init_jitter * xi)

    def base_point(self) -> np.ndarray:
        """The initialization without jitter, s0·exp(ρ u) (NumPy float64)."""
        u = np.linspace(-1.0, 1.0, self.depth) if self.depth > 1 else np.zeros(1)
        return float(self.init_scale) * np.exp(float(self.imbalance) * u)

    def value(self, params: jax.Array) -> jax.Array:
        return 0.5 * (jnp.prod(params) - self.target) ** 2

    def metrics(self, params: jax.Array) -> dict[str, jax.Array]:
        sq = params**2
        return {
            "suboptimality": self.value(params),
            "product": jnp.prod(params),
            "imbalance": jnp.max(sq) - jnp.min(sq),
        }

    @property
    def f_star(self) -> jax.Array:
        return jnp.zeros((), jnp.result_type(float))
