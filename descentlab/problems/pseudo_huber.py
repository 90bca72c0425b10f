r"""The pseudo-Huber function: a Lipschitz convex objective whose smoothing ε can be turned off (ℓ1 norm).

.. math:: f(x) = \sum_{i=1}^d \big(\sqrt{x_i^2+\varepsilon^2}-\varepsilon\big),\qquad
          f'' (x_i) = \frac{\varepsilon^2}{(x_i^2+\varepsilon^2)^{3/2}}\le\frac1\varepsilon ,

with :math:`f^\star = 0` at :math:`x^\star = 0`. For ε > 0 it is convex, C^∞, 1-Lipschitz per coordinate
(:math:`|\partial_i f|<1`) and (1/ε)-smooth, the sharpness at the minimizer being 1/ε. At ε = 0 it is the
nonsmooth, piecewise-linear :math:`\lVert x\rVert_1`, and gradient descent follows its (sub)gradient
:math:`\operatorname{sign}(x)` — the model "NGDM" of Kumar, *GD doesn't make the cut* (2401.08426): GD with a
constant step never converges on it, and, for ε > 0 with η > 2ε, GD neither converges nor diverges although
the sharpness at the minimizer exceeds 2/η (see :mod:`descentlab.theory.nonsmooth_gd`). ``smoothing`` is a
vmapped hyperparameter; at ε = 0 the value and gradient are those of |x| exactly (a ``where`` keeps the
untaken branch finite; at x = 0 JAX's derivative of |x| is 1, a subgradient).
``x₀ = init_scale · N(0, I_d)`` (coordinates of order ``init_scale``, independent of d).
A stochastic oracle (``grad_noise``) is available as for every deterministic problem.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import jax
import jax.numpy as jnp

from descentlab.problems._oracle import OracleProblem
from descentlab.problems.base import hyper, static
from descentlab.problems.registry import register_problem


def pseudo_huber(x: jax.Array, smoothing: jax.Array) -> jax.Array:
    """√(x² + ε²) − ε elementwise; |x| at ε = 0 (value and gradient)."""
    smooth = smoothing > 0
    eps = jnp.where(smooth, smoothing, 1.0)
    return jnp.where(smooth, jnp.sqrt(x**2 + eps**2) - eps, jnp.abs(x))


@register_problem("pseudo_huber")
@dataclasses.dataclass(frozen=True)
class PseudoHuber(OracleProblem):
    """Σ (√(xᵢ² + ε²) − ε): convex, Lipschitz, (1/ε)-smooth; the ℓ1 norm at ε = 0. f* = 0 at 0."""

    summary = "Pseudo-Huber Σ(√(xᵢ²+ε²)−ε): Lipschitz convex, sharpness 1/ε at 0; ‖x‖₁ at ε = 0. f* = 0."
    references = (
        "Kumar. GD doesn't make the cut: three ways that non-differentiability affects neural network training "
        "(2401.08426)",
        "Huber. Robust estimation of a location parameter (1964)",
    )
    tiny: ClassVar[dict] = {"dim": 4, "smoothing": 0.1, "init_scale": 1.0, "grad_noise": 0.1}
    example: ClassVar[tuple] = ("dim",)

    dim: int = static(10, "dimension d", low=1, high=1_000_000)
    smoothing: float = hyper(0.1, "ε: the smoothing (0 = the nonsmooth ℓ1 norm)", low=0.0)
    init_scale: float = hyper(1.0, "x₀ ~ init_scale · N(0, I_d)", low=0.0)
    grad_noise: float = hyper(0.0, "stochastic oracle: σ of the additive gradient noise", low=0.0)

    def init(self, key: jax.Array) -> jax.Array:
        return self.init_scale * jax.random.normal(key, (self.dim,), jnp.result_type(float))

    def value(self, params: jax.Array) -> jax.Array:
        return jnp.sum(pseudo_huber(params, self.smoothing))

    def metrics(self, params: jax.Array) -> dict[str, jax.Array]:
        return {"suboptimality": self.value(params), "distance_to_optimum": jnp.linalg.norm(params)}

    @property
    def f_star(self) -> jax.Array:
        return jnp.zeros((), jnp.result_type(float))

    @property
    def smoothness(self) -> jax.Array:
        """1/ε, the sharpness at the minimizer (infinite at ε = 0)."""
        return 1.0 / jnp.asarray(self.smoothing, jnp.result_type(float))

    def optimum(self) -> jax.Array:
        return jnp.zeros((self.dim,), jnp.result_type(float))
