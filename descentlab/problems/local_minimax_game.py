r"""A nonconvex–nonconcave game whose local minimax point has a degenerate max-player Hessian.

.. math:: f(x, y) = -\tfrac{a}{2}\lVert x\rVert^2 + x^\top A y + \tfrac{b}{2}\lVert x\rVert^2\lVert y\rVert^2
          - \tfrac{c}{4}\textstyle\sum_i y_i^4 ,

x, y ∈ ℝᵈ, A as in ``bilinear_game`` (Haar singular vectors, singular values geometrically spaced in
:math:`[1/\kappa, 1]`), a = ``curvature`` > 0 (f is concave — nonconvex — in x), b = ``nonconcavity`` ≥ 0
(for x ≠ 0 the y-Hessian at y = 0 is :math:`b\lVert x\rVert^2 I \succ 0`: f is nonconcave in y) and
c = ``quartic`` > 0.

(0, 0) is a critical point, and a local minimax point (Jin, Netrapalli, Jordan 2020): y = 0 is a strict
local maximum of :math:`f(0,\cdot) = -\tfrac c4\sum_i y_i^4`, and for small x,
:math:`\max_{y}f(x,y) \ge -\tfrac a2\lVert x\rVert^2 + \tfrac34 c^{-1/3}\sum_i|(A^\top x)_i|^{4/3} > 0 = f(0, 0)`
(the :math:`|x|^{4/3}` term dominates). But the max-player Hessian there is degenerate,
:math:`\nabla^2_{yy}f(0,0) = 0`, and :math:`\nabla^2_{xx}f(0,0) = -aI`: the descent–ascent field
:math:`F=(\nabla_x f, -\nabla_y f)` has Jacobian

.. math:: J = \begin{pmatrix} -aI & A \\ -A^\top & 0 \end{pmatrix},

with trace −a·d < 0, so (two-timescale) gradient descent–ascent is unstable at (0, 0) for every time-scale
ratio, while two-timescale extragradient is stable once the ratio passes a finite threshold (see
:mod:`descentlab.theory.game_spectra`) — the situation of Chae, Kim, Kim, *Two-timescale Extragradient for
Finding Local Minimax Points* (2305.16242), who remove the nondegeneracy assumption on
:math:`\nabla^2_{yy}f`. Metric: the distance to (0, 0). ``smoothness`` is ‖J‖ (the field is only
locally Lipschitz: the quartic terms).

References: Chae, Kim, Kim (2305.16242); Jin, Netrapalli, Jordan, *What is local optimality in
nonconvex-nonconcave minimax optimization?* (1902.00618).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import jax
import jax.numpy as jnp

from descentlab.problems._game import CoupledGame
from descentlab.problems.base import hyper, static
from descentlab.problems.registry import register_problem


@register_problem("local_minimax_game")
@dataclasses.dataclass(frozen=True)
class LocalMinimaxGame(CoupledGame):
    """Nonconvex–nonconcave game, local minimax point (0, 0) with ∇²ᵧᵧf = 0; metric: distance to it."""

    summary = "Nonconvex–nonconcave game whose local minimax point (0, 0) has ∇²ᵧᵧf = 0; distance to it."
    references = (
        "Chae, Kim, Kim. Two-timescale Extragradient for Finding Local Minimax Points (2305.16242)",
        "Jin, Netrapalli, Jordan. What is local optimality in nonconvex-nonconcave minimax optimization? (1902.00618)",
    )
    tiny: ClassVar[dict] = {"dim": 3, "condition_number": 1.5, "grad_noise": 0.1}
    arrays: ClassVar[tuple] = (("dim", "dim", 3),)  # A and the two Haar rotations

    dim: int = static(4, "dimension of x and of y", low=1, high=10_000)
    curvature: float = hyper(0.1, "a: f has curvature −a in x at the equilibrium (nonconvex)", low=0.0, low_open=True)
    nonconcavity: float = hyper(1.0, "b of the b/2‖x‖²‖y‖² term (nonconcave in y away from x = 0)", low=0.0)
    quartic: float = hyper(1.0, "c of −c/4 Σ yᵢ⁴ (makes y = 0 a strict, degenerate local max)", low=0.0, low_open=True)
    condition_number: float = hyper(1.5, "κ = s_max / s_min of the coupling A", low=1.0)
    matrix_seed: int = static(0, "seed of the singular vectors of A", low=0)
    init_scale: float = hyper(0.1, "x₀, y₀ ~ init_scale · N(0, I/d) (local: near the equilibrium)", low=0.0)
    grad_noise: float = hyper(0.0, "stochastic oracle: σ of the additive noise on the field", low=0.0)

    def value(self, params: dict) -> jax.Array:
        x, y = params["x"], params["y"]
        xx, yy = x @ x, y @ y
        return (
            -0.5 * self.curvature * xx
            + x @ self.matrix @ y
            + 0.5 * self.nonconcavity * xx * yy
            - 0.25 * self.quartic * jnp.sum(y**4)
        )

    def metrics(self, params: dict) -> dict[str, jax.Array]:
        distance = jnp.sqrt(jnp.sum(params["x"] ** 2) + jnp.sum(params["y"] ** 2))
        return {"distance_to_equilibrium": distance, "value": self.value(params)}

    def _jacobian_at_equilibrium(self) -> jax.Array:
        """J, the Jacobian of the descent–ascent field at (0, 0) (the field is nonlinear elsewhere)."""
        eye = jnp.eye(self.dim, dtype=jnp.result_type(float))
        a = self.matrix
        return jnp.block([[-self.curvature * eye, a], [-a.T, jnp.zeros_like(eye)]])

    @property
    def f_star(self) -> jax.Array:
        return jnp.zeros((), jnp.result_type(float))

    @property
    def smoothness(self) -> jax.Array:
        return jnp.linalg.norm(self._jacobian_at_equilibrium(), 2)

    @property
    def strong_convexity(self) -> jax.Array:
        return jnp.zeros((), jnp.result_type(float))

    def optimum(self) -> dict:
        zero = jnp.zeros((self.dim,), jnp.result_type(float))
        return {"x": zero, "y": zero}
