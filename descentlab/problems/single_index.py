r"""Single-index model with a chosen link: :math:`y = g(x^\top\theta^\star)+\sigma\varepsilon`.

The student is :math:`g(x^\top\theta)` with the same link.

Links: ``linear``, ``relu``, ``tanh``, ``erf``, ``square`` (phase retrieval), and the normalized
Hermite polynomials ``he2`` :math:`(z^2-1)/\sqrt2`, ``he3`` :math:`(z^3-3z)/\sqrt6`, ``he4``
:math:`(z^4-6z^2+3)/\sqrt{24}` whose *information exponent* k (the first nonzero Hermite
coefficient) sets the sample complexity of online SGD from a random start: :math:`d^{k-1}` steps for
k ≥ 3, :math:`d\log d` for k = 2, d for k = 1 (Ben Arous, Gheissari, Jagannath 2021). Metrics: the
overlaps :math:`m=\theta^\top\theta^\star`, :math:`q=\lVert\theta\rVert^2` and the exact population risk
(see :mod:`descentlab.problems._index` for the model, normalization and quadrature).

References: Ben Arous, Gheissari, Jagannath, *Online stochastic gradient descent on non-convex
losses from high-dimensional inference* (JMLR 2021, 2003.10409); Collins-Woodfin, Paquette,
Paquette, Seroussi, *Hitting the high-dimensional notes* (2308.08977).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import jax
import jax.numpy as jnp

from descentlab.problems._index import IndexModel
from descentlab.problems.base import hyper, static
from descentlab.problems.registry import register_problem

LINKS = {
    "linear": lambda z: z,
    "relu": jax.nn.relu,
    "tanh": jnp.tanh,
    "erf": lambda z: jax.scipy.special.erf(z / jnp.sqrt(2.0)),
    "square": lambda z: z**2,
    "he2": lambda z: (z**2 - 1.0) / jnp.sqrt(2.0),
    "he3": lambda z: (z**3 - 3.0 * z) / jnp.sqrt(6.0),
    "he4": lambda z: (z**4 - 6.0 * z**2 + 3.0) / jnp.sqrt(24.0),
}


@register_problem("single_index")
@dataclasses.dataclass(frozen=True)
class SingleIndex(IndexModel):
    """y = g(xᵀθ*) + σε with x ~ N(0, I_d), ‖θ*‖ = 1; overlaps m, q and the exact population risk."""

    summary = "Single-index model y = g(xᵀθ*) + σε, chosen link (Hermite he2–he4, relu, …); overlaps m, q."
    references = (
        "Ben Arous, Gheissari, Jagannath. Online SGD on non-convex losses from high-dimensional inference (2003.10409)",
        "Collins-Woodfin, Paquette, Paquette, Seroussi. Hitting the high-dimensional notes (2308.08977)",
    )
    tiny: ClassVar[dict] = {"dim": 6, "link": "he3", "noise": 0.1, "init_scale": 1.0}
    example: ClassVar[tuple] = ("dim",)

    dim: int = static(100, "dimension d", low=1, high=1_000_000)
    link: str = static("tanh", "link g (student and teacher)", choices=tuple(LINKS))
    teacher_seed: int = static(0, "seed of θ*", low=0)
    noise: float = hyper(0.0, "label noise σ", low=0.0)
    init_scale: float = hyper(1.0, "θ₀ ~ init_scale · N(0, I/d)", low=0.0)

    @property
    def index_dim(self) -> int:
        return 1

    def apply_link(self, z: jax.Array) -> jax.Array:
        return LINKS[self.link](z[..., 0])
