r"""Two basins in one dimension: a wide global minimum and a sharp, shallower local one.

.. math:: f(x) = \tfrac a2 x^2 - h\,\exp\!\Big(-\frac{(x-c)^2}{2s^2}\Big),

a wide quadratic well (curvature a) whose global minimum is near 0, and a Gaussian dip of depth h and
width s centred at c which makes a local minimum near c with curvature
:math:`\lambda_{\rm loc}\approx a + h/s^2` (for :math:`h\gg a c s`). With the defaults (a = 1, c = 3,
s = 0.3, h = 2) the local minimum sits at x ≈ 2.856 with f ≈ 2.296 and curvature ≈ 16.2, the global one
at 0 with f ≈ 0. Gradient descent started in the local basin converges there when
:math:`\eta < 2/\lambda_{\rm loc}`; a larger step (still :math:`< 2/a`) cannot stay in the sharp dip and
ends in the wide global basin — the mechanism by which large steps reach the global minimum in
Mohtashami, Jaggi, Stich, *Special Properties of Gradient Descent with Large Learning Rates* (2205.15142).
Inits: :math:`x_0 = c + w\,U(-1, 1)` (``init_width`` w). Metrics: ``suboptimality`` (f − f*, f* = f at the
global minimizer, found by Newton steps from 0), ``in_global_basin`` (1 when |x| < c/2), ``position`` x.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import jax
import jax.numpy as jnp

from descentlab.problems._oracle import OracleProblem
from descentlab.problems.base import hyper
from descentlab.problems.registry import register_problem


@register_problem("two_basins")
@dataclasses.dataclass(frozen=True)
class TwoBasins(OracleProblem):
    """½ a x² − h exp(−(x−c)²/2s²): wide global well at 0, sharp local dip near c."""

    summary = "1-D wide global well ½ax² plus a sharp Gaussian dip at c (local minimum, curvature ≈ a + h/s²)."
    references = (
        "Mohtashami, Jaggi, Stich. Special Properties of Gradient Descent with Large Learning Rates (2205.15142)",
    )
    tiny: ClassVar[dict] = {"init_width": 0.2, "grad_noise": 0.1}

    curvature: float = hyper(1.0, "curvature a of the wide global well", low=0.0)
    center: float = hyper(3.0, "centre c of the sharp dip", low=0.0)
    dip_width: float = hyper(0.3, "width s of the sharp dip", low=1e-6)
    dip_depth: float = hyper(2.0, "depth h of the sharp dip", low=0.0)
    init_width: float = hyper(0.3, "x0 = c + w·U(-1, 1)", low=0.0)
    grad_noise: float = hyper(0.0, "stochastic oracle: σ of the additive gradient noise", low=0.0)

    def init(self, key: jax.Array) -> jax.Array:
        dtype = jnp.result_type(float)
        return self.center + self.init_width * jax.random.uniform(key, (1,), dtype, -1.0, 1.0)

    def _f(self, x: jax.Array) -> jax.Array:
        dip = jnp.exp(-((x - self.center) ** 2) / (2.0 * self.dip_width**2))
        return 0.5 * self.curvature * x**2 - self.dip_depth * dip

    def value(self, params: jax.Array) -> jax.Array:
        return self._f(params[0])

    @property
    def f_star(self) -> jax.Array:
        x = jnp.zeros((), jnp.result_type(float))
        grad, curv = jax.grad(self._f), jax.grad(jax.grad(self._f))
        for _ in range(8):
            x = x - grad(x) / curv(x)
        return self._f(x)

    def metrics(self, params: jax.Array) -> dict[str, jax.Array]:
        x = params[0]
        return {
            "suboptimality": self.value(params) - self.f_star,
            "in_global_basin": (jnp.abs(x) < 0.5 * self.center).astype(x.dtype),
            "position": x,
        }
