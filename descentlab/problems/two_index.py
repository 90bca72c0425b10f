r"""A two-index model: :math:`y = g(x^\top\theta^\star_1, x^\top\theta^\star_2) + \sigma\varepsilon`.

The student is :math:`g(Wx)` with the same link.

Links: ``product`` :math:`z_1z_2` (information exponent 2, both directions learned together),
``staircase`` :math:`z_1 + z_1z_2` (the first direction is learned first, then unlocks the
second: the "merged staircase" of Abbe, Boix-Adserà, Misiakiewicz), ``relu_sum``
:math:`\mathrm{relu}(z_1)+\mathrm{relu}(z_2)`. Parameters :math:`W\in\mathbb R^{2\times d}`; metrics
the overlap matrices :math:`M=W\Theta^{\star\top}` (``m_ij``) and :math:`Q=WW^\top` (``q_ij``) and the
exact population risk by 4-d Gauss–Hermite quadrature (12⁴ nodes; exact for the polynomial links).
Model details in :mod:`descentlab.problems._index`.

References: Abbe, Boix-Adserà, Misiakiewicz, *SGD learning on neural networks: leap complexity and
saddle-to-saddle dynamics* (2302.11055); Collins-Woodfin, Paquette, Paquette, Seroussi, *Hitting the
high-dimensional notes* (2308.08977); Bietti, Bruna, Pillaud-Vivien, *On learning Gaussian multi-index
models with gradient flow* (2310.19793).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import jax

from descentlab.problems._index import IndexModel
from descentlab.problems.base import hyper, static
from descentlab.problems.registry import register_problem

LINKS = {
    "product": lambda z1, z2: z1 * z2,
    "staircase": lambda z1, z2: z1 + z1 * z2,
    "relu_sum": lambda z1, z2: jax.nn.relu(z1) + jax.nn.relu(z2),
}


@register_problem("two_index")
@dataclasses.dataclass(frozen=True)
class TwoIndex(IndexModel):
    """y = g(Θ*x) + σε with two orthonormal teacher directions; overlaps M, Q."""

    summary = "Two-index model y = g(xᵀθ₁*, xᵀθ₂*) + σε (product, staircase, relu_sum); overlaps M, Q."
    references = (
        "Abbe, Boix-Adserà, Misiakiewicz. SGD learning on neural networks: leap complexity (2302.11055)",
        "Collins-Woodfin, Paquette, Paquette, Seroussi. Hitting the high-dimensional notes (2308.08977)",
        "Bietti, Bruna, Pillaud-Vivien. On learning Gaussian multi-index models with gradient flow (2310.19793)",
    )
    tiny: ClassVar[dict] = {"dim": 5, "link": "staircase", "noise": 0.1, "init_scale": 1.0}
    example: ClassVar[tuple] = ("dim",)

    dim: int = static(100, "dimension d", low=2, high=1_000_000)
    link: str = static("staircase", "link g(z₁, z₂) (student and teacher)", choices=tuple(LINKS))
    teacher_seed: int = static(0, "seed of Θ*", low=0)
    noise: float = hyper(0.0, "label noise σ", low=0.0)
    init_scale: float = hyper(1.0, "W₀ ~ init_scale · N(0, I/d) entrywise", low=0.0)

    @property
    def index_dim(self) -> int:
        return 2

    def apply_link(self, z: jax.Array) -> jax.Array:
        return LINKS[self.link](z[..., 0], z[..., 1])
