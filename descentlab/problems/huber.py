r"""The radial Huber function — Drori and Teboulle's worst case of gradient descent on smooth convex functions.

.. math:: f(x) = \begin{cases} \tfrac L2\|x\|^2 & \|x\|\le\delta \\
          L\delta\|x\| - \tfrac L2\delta^2 & \|x\| > \delta\end{cases}

is convex and L-smooth (not strongly convex), :math:`f^\star = 0` at :math:`x^\star = 0`. Started at
:math:`x_0 = R\,u` (u a uniformly random unit vector, ``init_scale`` = R), gradient descent with step
:math:`\gamma = h/L`, :math:`h\le 1`, stays on the ray of u; with the width :math:`\delta = R/(2Nh+1)` it moves
by :math:`h\delta` per step while :math:`\|x_t\|>\delta`, so that after N steps

.. math:: f(x_N) - f^\star = \frac{L R^2}{4Nh+2},

which equals the tight worst case of N steps of GD over all L-smooth convex functions with
:math:`\|x_0-x^\star\|\le R` (Drori & Teboulle 2014, Thm 3.1; the bound PEPit's ``gradient_descent`` example
reproduces). With :math:`\delta\ge R` the function is the quadratic :math:`\tfrac L2\|x\|^2` along the whole
path — the one-dimensional worst case of GD on μ-strongly convex functions when L is set to μ.
Optional stochastic oracle: :mod:`descentlab.problems._oracle`.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import jax
import jax.numpy as jnp

from descentlab.problems._oracle import OracleProblem
from descentlab.problems.base import hyper, static
from descentlab.problems.registry import register_problem


@register_problem("huber")
@dataclasses.dataclass(frozen=True)
class Huber(OracleProblem):
    """L·Huber_δ(‖x‖): convex, L-smooth, f* = 0 at 0; GD's worst case (Drori–Teboulle) at δ = R/(2Nh+1)."""

    summary = (
        "Radial Huber L·h_δ(‖x‖), convex and L-smooth; Drori–Teboulle's worst case of N GD steps at δ = R/(2Nh+1)."
    )
    references = (
        "Drori, Teboulle. Performance of first-order methods for smooth convex minimization: a novel approach "
        "(1206.3209), Thm 3.1",
        "Huber. Robust estimation of a location parameter (1964)",
    )
    tiny: ClassVar[dict] = {"dim": 3, "width": 0.5, "init_scale": 1.0, "grad_noise": 0.1}
    example: ClassVar[tuple] = ("dim",)

    dim: int = static(1, "dimension d", low=1, high=1_000_000)
    smoothness: float = hyper(
        1.0, "L: the curvature inside the width (the smoothness constant)", low=0.0, low_open=True
    )
    width: float = hyper(1.0, "δ: quadratic for ‖x‖ ≤ δ, linear beyond", low=0.0, low_open=True)
    init_scale: float = hyper(1.0, "R: x₀ = R·u, u a uniformly random unit vector", low=0.0)
    grad_noise: float = hyper(0.0, "stochastic oracle: σ of the additive gradient noise", low=0.0)

    def init(self, key: jax.Array) -> jax.Array:
        direction = jax.random.normal(key, (self.dim,), jnp.result_type(float))
        return self.init_scale * direction / jnp.linalg.norm(direction)

    def value(self, params: jax.Array) -> jax.Array:
        squared = jnp.sum(params**2)
        inside = squared <= self.width**2
        radius = jnp.sqrt(jnp.where(inside, self.width**2, squared))  # ≥ δ > 0: no NaN gradient at the origin
        linear = self.smoothness * self.width * (radius - 0.5 * self.width)
        return jnp.where(inside, 0.5 * self.smoothness * squared, linear)

    def metrics(self, params: jax.Array) -> dict[str, jax.Array]:
        return {"suboptimality": self.value(params), "distance_to_optimum": jnp.linalg.norm(params)}

    @property
    def f_star(self) -> jax.Array:
        return jnp.zeros((), jnp.result_type(float))

    def optimum(self) -> jax.Array:
        return jnp.zeros((self.dim,), jnp.result_type(float))
