r"""A strongly-convex–strongly-concave quadratic game.

.. math:: f(x, y) = \tfrac{\mu_x}2\lVert x\rVert^2 + x^\top A y - \tfrac{\mu_y}2\lVert y\rVert^2,

with A as in ``bilinear_game`` (singular values in :math:`[1/\kappa, 1]`). The unique equilibrium is
(0, 0), value 0. The duality gap has the closed form

.. math:: \mathrm{gap}(x,y) = \max_{y'} f(x,y') - \min_{x'} f(x',y)
          = \tfrac{\mu_x}2\lVert x\rVert^2 + \tfrac{\lVert A^\top x\rVert^2}{2\mu_y}
          + \tfrac{\lVert Ay\rVert^2}{2\mu_x} + \tfrac{\mu_y}2\lVert y\rVert^2 .

The field :math:`F(z) = Jz`, :math:`J=\begin{psmallmatrix}\mu_xI & A\\ -A^\top & \mu_yI\end{psmallmatrix}`, is
:math:`\min(\mu_x,\mu_y)`-strongly monotone and :math:`\lVert J\rVert`-Lipschitz; GDA converges linearly
for small steps, at a rate governed by :math:`\mu/L^2`, extragradient at :math:`\mu/L`.

References: Mokhtari, Ozdaglar, Pattathil (1901.08511); Zhang, Hong, Zhang, *On lower iteration complexity
bounds for the convex concave saddle point problems* (1912.07481); Gidel et al. (1802.10551).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import jax
import jax.numpy as jnp

from descentlab.problems._game import CoupledGame
from descentlab.problems.base import hyper, static
from descentlab.problems.registry import register_problem


@register_problem("quadratic_game")
@dataclasses.dataclass(frozen=True)
class QuadraticGame(CoupledGame):
    """SC–SC quadratic min–max game; metrics: duality gap (closed form) and distance to equilibrium."""

    summary = "Strongly-convex–strongly-concave quadratic game (μₓ, μᵧ, coupling A); closed-form duality gap."
    references = (
        "Mokhtari, Ozdaglar, Pattathil. Unified analysis of extra-gradient and optimistic methods (1901.08511)",
        "Zhang, Hong, Zhang. Lower iteration complexity bounds for convex-concave saddle point problems (1912.07481)",
        "Gidel et al. A variational inequality perspective on generative adversarial networks (1802.10551)",
    )
    tiny: ClassVar[dict] = {"dim": 3, "condition_number": 2.0, "mu_x": 0.3, "mu_y": 0.2, "grad_noise": 0.1}
    arrays: ClassVar[tuple] = (("dim", "dim", 4),)  # A, the two Haar rotations and the identity

    dim: int = static(10, "dimension of x and of y", low=1, high=10_000)
    mu_x: float = hyper(0.1, "strong convexity in x", low=0.0, low_open=True)
    mu_y: float = hyper(0.1, "strong concavity in y", low=0.0, low_open=True)
    condition_number: float = hyper(1.0, "κ = s_max / s_min of the coupling A", low=1.0)
    matrix_seed: int = static(0, "seed of the singular vectors of A", low=0)
    init_scale: float = hyper(1.0, "x₀, y₀ ~ init_scale · N(0, I/d)", low=0.0)
    grad_noise: float = hyper(0.0, "stochastic oracle: σ of the additive noise on the field", low=0.0)

    def value(self, params: dict) -> jax.Array:
        x, y = params["x"], params["y"]
        return 0.5 * self.mu_x * x @ x + x @ self.matrix @ y - 0.5 * self.mu_y * y @ y

    def duality_gap(self, params: dict) -> jax.Array:
        x, y, a = params["x"], params["y"], self.matrix
        return (
            0.5 * self.mu_x * x @ x
            + jnp.sum((a.T @ x) ** 2) / (2.0 * self.mu_y)
            + jnp.sum((a @ y) ** 2) / (2.0 * self.mu_x)
            + 0.5 * self.mu_y * y @ y
        )

    def metrics(self, params: dict) -> dict[str, jax.Array]:
        distance = jnp.sqrt(jnp.sum(params["x"] ** 2) + jnp.sum(params["y"] ** 2))
        return {"distance_to_equilibrium": distance, "duality_gap": self.duality_gap(params)}

    def field_matrix(self) -> jax.Array:
        """J with F(z) = J z for z = (x, y)."""
        eye = jnp.eye(self.dim, dtype=jnp.result_type(float))
        a = self.matrix
        return jnp.block([[self.mu_x * eye, a], [-a.T, self.mu_y * eye]])

    @property
    def f_star(self) -> jax.Array:
        return jnp.zeros((), jnp.result_type(float))

    @property
    def smoothness(self) -> jax.Array:
        return jnp.linalg.norm(self.field_matrix(), 2)

    @property
    def strong_convexity(self) -> jax.Array:
        return jnp.minimum(jnp.asarray(self.mu_x), jnp.asarray(self.mu_y))

    def optimum(self) -> dict:
        zero = jnp.zeros((self.dim,), jnp.result_type(float))
        return {"x": zero, "y": zero}
