r"""Phase retrieval: :math:`y = (x^\top\theta^\star)^2 + \sigma\varepsilon`, student :math:`(x^\top\theta)^2`.

The single-index model with the square link (information exponent 2) and a sign symmetry: both
:math:`\pm\theta^\star` are global minima (:math:`f^\star=\sigma^2/2`), and the uninformed start
:math:`m\approx 0` is an unstable fixed point escaped in :math:`O(d\log d)` online-SGD steps. With
:math:`x\sim\mathcal N(0,I_d)` and :math:`\lVert\theta^\star\rVert=1` the population risk is in
closed form,

.. math:: \mathcal R(\theta) = \tfrac12\big(3q^2 + 3 - 2q - 4m^2\big) + \tfrac{\sigma^2}2
          \quad (q=\lVert\theta\rVert^2,\ m=\theta^\top\theta^\star),

(from :math:`\mathbb E u^4 = 3q^2`, :math:`\mathbb E u^2v^2 = q + 2m^2`); the metrics report it with
``m``, ``q`` and ``abs_m`` = |m| (the sign-invariant overlap).

References: Tan, Vershynin, *Online stochastic gradient descent with arbitrary initialization solves
non-smooth, non-convex phase retrieval* (1910.12837); Mignacco, Urbani, Zdeborová, *Stochasticity helps
to navigate rough landscapes: comparing gradient-descent-based algorithms in the phase retrieval
problem* (2103.04902); Ben Arous, Gheissari, Jagannath (2003.10409).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import jax
import jax.numpy as jnp

from descentlab.problems._index import IndexModel
from descentlab.problems.base import hyper, static
from descentlab.problems.registry import register_problem


@register_problem("phase_retrieval")
@dataclasses.dataclass(frozen=True)
class PhaseRetrieval(IndexModel):
    """y = (xᵀθ*)² + σε; closed-form population risk in the overlaps m, q."""

    summary = "Phase retrieval y = (xᵀθ*)² + σε, x ~ N(0, I_d); closed-form risk in overlaps m, q."
    references = (
        "Tan, Vershynin. Online SGD with arbitrary initialization solves phase retrieval (1910.12837)",
        "Mignacco, Urbani, Zdeborová. Stochasticity helps to navigate rough landscapes (2103.04902)",
        "Ben Arous, Gheissari, Jagannath. Online SGD on non-convex losses (2003.10409)",
    )
    tiny: ClassVar[dict] = {"dim": 6, "noise": 0.1, "init_scale": 1.0}
    example: ClassVar[tuple] = ("dim",)

    dim: int = static(100, "dimension d", low=1, high=1_000_000)
    teacher_seed: int = static(0, "seed of θ*", low=0)
    noise: float = hyper(0.0, "label noise σ", low=0.0)
    init_scale: float = hyper(1.0, "θ₀ ~ init_scale · N(0, I/d)", low=0.0)

    @property
    def index_dim(self) -> int:
        return 1

    def apply_link(self, z: jax.Array) -> jax.Array:
        return z[..., 0] ** 2

    def excess_risk(self, params: jax.Array) -> jax.Array:
        m = params @ self.teacher[0]
        q = params @ params
        # ≥ 0 exactly; the clip removes float cancellation at θ = ±θ*
        return jnp.maximum(0.5 * (3.0 * q**2 + 3.0 - 2.0 * q - 4.0 * m**2), 0.0)

    def metrics(self, params: jax.Array) -> dict[str, jax.Array]:
        out = super().metrics(params)
        out["abs_m"] = jnp.abs(out["m"])
        return out
