r"""The bilinear game :math:`\min_x\max_y x^\top A y`: the simplest game on which plain gradient descent–ascent fails.

:math:`A = U\,\mathrm{diag}(s)\,V^\top` with Haar-random U, V (seed ``matrix_seed``) and singular values
geometrically spaced, :math:`s_i = \kappa^{-(i-1)/(d-1)}` (``condition_number`` κ; :math:`s_{\max}=1`).
The unique equilibrium is (0, 0) with value 0. Simultaneous GDA spirals out
(:math:`\lVert z_{t+1}\rVert^2 = (1+\eta^2 s_i^2)\lVert z_t\rVert^2` per singular pair), alternating GDA
cycles, and extragradient / optimistic GDA converge linearly at a rate set by
:math:`s_{\min}^2/s_{\max}^2 = 1/\kappa^2`. The metric is the distance to equilibrium
:math:`\sqrt{\lVert x\rVert^2+\lVert y\rVert^2}` (the duality gap is infinite away from it). The field is
L-Lipschitz with :math:`L=\lVert A\rVert=1` and merely monotone (μ = 0).

References: Daskalakis, Ilyas, Syrgkanis, Zeng, *Training GANs with optimism* (1711.00141);
Gidel et al., *A variational inequality perspective on GANs* (1802.10551); Mokhtari, Ozdaglar,
Pattathil, *A unified analysis of extra-gradient and optimistic gradient methods for saddle point
problems* (1901.08511).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import jax
import jax.numpy as jnp

from descentlab.problems._game import CoupledGame
from descentlab.problems.base import hyper, static
from descentlab.problems.registry import register_problem


@register_problem("bilinear_game")
@dataclasses.dataclass(frozen=True)
class BilinearGame(CoupledGame):
    """min_x max_y xᵀAy, equilibrium (0, 0); metric: distance to equilibrium."""

    summary = "Bilinear game min_x max_y xᵀAy (GDA diverges, extragradient converges); distance to equilibrium."
    references = (
        "Daskalakis, Ilyas, Syrgkanis, Zeng. Training GANs with optimism (1711.00141)",
        "Gidel et al. A variational inequality perspective on generative adversarial networks (1802.10551)",
        "Mokhtari, Ozdaglar, Pattathil. Unified analysis of extra-gradient and optimistic methods (1901.08511)",
    )
    tiny: ClassVar[dict] = {"dim": 3, "condition_number": 3.0, "grad_noise": 0.1}
    arrays: ClassVar[tuple] = (("dim", "dim", 3),)  # A and the two Haar rotations

    dim: int = static(10, "dimension of x and of y", low=1, high=10_000)
    condition_number: float = hyper(1.0, "κ = s_max / s_min of A", low=1.0)
    matrix_seed: int = static(0, "seed of the singular vectors of A", low=0)
    init_scale: float = hyper(1.0, "x₀, y₀ ~ init_scale · N(0, I/d)", low=0.0)
    grad_noise: float = hyper(0.0, "stochastic oracle: σ of the additive noise on the field", low=0.0)

    def value(self, params: dict) -> jax.Array:
        return params["x"] @ self.matrix @ params["y"]

    def metrics(self, params: dict) -> dict[str, jax.Array]:
        distance = jnp.sqrt(jnp.sum(params["x"] ** 2) + jnp.sum(params["y"] ** 2))
        return {"distance_to_equilibrium": distance, "value": self.value(params)}

    @property
    def f_star(self) -> jax.Array:
        return jnp.zeros((), jnp.result_type(float))

    @property
    def smoothness(self) -> jax.Array:
        return jnp.linalg.norm(self.matrix, 2)

    @property
    def strong_convexity(self) -> jax.Array:
        return jnp.zeros((), jnp.result_type(float))

    def optimum(self) -> dict:
        zero = jnp.zeros((self.dim,), jnp.result_type(float))
        return {"x": zero, "y": zero}
