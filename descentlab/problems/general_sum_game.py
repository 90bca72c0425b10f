r"""A two-player general-sum quadratic game: each player minimizes its own cost.

.. math:: f_1(x, y) = \tfrac{\mu_x}2\lVert x\rVert^2 + a\,x^\top A y, \qquad
          f_2(x, y) = \tfrac{\mu_y}2\lVert y\rVert^2 + b\,y^\top A^\top x ,

player 1 choosing x ∈ ℝᵈ, player 2 choosing y ∈ ℝᵈ, with A as in ``bilinear_game`` (Haar singular vectors,
singular values geometrically spaced in :math:`[1/\kappa, 1]`, so :math:`\lVert A\rVert_2 = 1`), a =
``coupling_x`` and b = ``coupling_y``. ``grad`` returns the *pseudo-gradient* (each player's gradient of its
own cost)

.. math:: F(x, y) = \big(\nabla_x f_1,\; \nabla_y f_2\big) = Hz, \qquad
          H = \begin{pmatrix}\mu_x I & aA\\ bA^\top & \mu_y I\end{pmatrix},

so an optimizer stepping along −F is simultaneous gradient play. With b = −a the game is zero-sum
(f₂ = −f₁ up to terms in x alone) and F is the descent–ascent field of ``quadratic_game`` (a = 1, b = −1 is
the default). The Nash equilibrium is z* = 0 (unique when H is invertible).

Why a general-sum game: for every zero-sum quadratic game the symmetric part of H is
:math:`\mathrm{diag}(\mu_x I, \mu_y I)` (the couplings cancel), so F is Euclidean strongly monotone whenever
μₓ, μᵧ > 0. With couplings of the same sign, :math:`\mathrm{sym}(H)` has off-diagonal block
:math:`\tfrac{a+b}2A`, and F stops being Euclidean monotone once :math:`\tfrac{(a+b)^2}4 s_{\max}^2 >
\mu_x\mu_y` (for A orthogonal), while simultaneous play still converges as long as the small-gain condition
:math:`|ab|\,s_{\max}^2 < \mu_x\mu_y` holds: the setting of Sharma, *Small-Gain Nash* (2512.06791), see
:mod:`descentlab.theory.small_gain`.

``loss`` (the value recorded) is the sum of the players' costs :math:`f_1+f_2`, plus the optional oracle
noise of :mod:`descentlab.problems._oracle`, which enters both players' fields with a + sign (it is the
gradient of the noise term). ``smoothness`` is ‖H‖₂ and ``strong_convexity`` the Euclidean
strong-monotonicity modulus :math:`\lambda_{\min}(\mathrm{sym}\,H)` — negative when F is not monotone.
Metrics: the distance to the equilibrium, each player's distance ‖x‖ and ‖y‖ (any block-weighted distance
:math:`\sqrt{w_1\lVert x\rVert^2+w_2\lVert y\rVert^2}` follows from them), and the weighted distance
:math:`\sqrt{\lVert x\rVert^2 + r\lVert y\rVert^2}` at r = ``metric_ratio``.

References: Sharma, *Small-Gain Nash: Certified Contraction to Nash Equilibria in Differentiable Games*
(2512.06791); Rosen, *Existence and uniqueness of equilibrium points for concave n-person games*
(Econometrica 1965); Mazumdar, Ratliff, Sastry, *On gradient-based learning in continuous games* (1804.05464).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import jax
import jax.numpy as jnp

from descentlab.problems._game import CoupledGame
from descentlab.problems.base import hyper, static
from descentlab.problems.registry import register_problem


@register_problem("general_sum_quadratic_game")
@dataclasses.dataclass(frozen=True)
class GeneralSumQuadraticGame(CoupledGame):
    """Two-player general-sum quadratic game; grad is the pseudo-gradient (∇ₓf₁, ∇ᵧf₂); Nash point (0, 0)."""

    summary = "General-sum quadratic game f₁ = μₓ/2‖x‖² + a xᵀAy, f₂ = μᵧ/2‖y‖² + b yᵀAᵀx; pseudo-gradient play."
    references = (
        "Sharma. Small-Gain Nash: Certified Contraction to Nash Equilibria in Differentiable Games (2512.06791)",
        "Rosen. Existence and uniqueness of equilibrium points for concave n-person games (Econometrica 1965)",
        "Mazumdar, Ratliff, Sastry. On gradient-based learning in continuous games (1804.05464)",
    )
    tiny: ClassVar[dict] = {"dim": 3, "condition_number": 2.0, "coupling_x": 2.0, "coupling_y": 0.3, "grad_noise": 0.1}
    arrays: ClassVar[tuple] = (("dim", "dim", 3),)  # A and the two Haar rotations

    dim: int = static(4, "dimension of x and of y", low=1, high=10_000)
    mu_x: float = hyper(1.0, "μₓ: curvature of player 1's cost in x", low=0.0, low_open=True)
    mu_y: float = hyper(1.0, "μᵧ: curvature of player 2's cost in y", low=0.0, low_open=True)
    coupling_x: float = hyper(1.0, "a: player 1's cost has a·xᵀAy (its field's coupling block, L₁₂ = |a|)")
    coupling_y: float = hyper(-1.0, "b: player 2's cost has b·yᵀAᵀx (L₂₁ = |b|); b = −a is zero-sum")
    condition_number: float = hyper(1.0, "κ = s_max / s_min of the coupling A (s_max = 1)", low=1.0)
    matrix_seed: int = static(0, "seed of the singular vectors of A", low=0)
    init_scale: float = hyper(1.0, "x₀, y₀ ~ init_scale · N(0, I/d)", low=0.0)
    metric_ratio: float = hyper(1.0, "r of the recorded weighted distance √(‖x‖² + r‖y‖²)", low=0.0, low_open=True)
    grad_noise: float = hyper(0.0, "stochastic oracle: σ of the additive noise on the field", low=0.0)

    def noise_sign(self, params: dict) -> dict:
        """Both players minimize: the noise enters both fields with a + sign."""
        return jax.tree_util.tree_map(jnp.ones_like, params)

    def costs(self, params: dict) -> tuple[jax.Array, jax.Array]:
        """(f₁, f₂): each player's own cost."""
        x, y, a = params["x"], params["y"], self.matrix
        coupling = x @ a @ y
        return (
            0.5 * self.mu_x * x @ x + self.coupling_x * coupling,
            0.5 * self.mu_y * y @ y + self.coupling_y * coupling,
        )

    def value(self, params: dict) -> jax.Array:
        """f₁ + f₂, the sum of the players' costs."""
        f1, f2 = self.costs(params)
        return f1 + f2

    def grad(self, params: dict, batch: Any) -> tuple[jax.Array, dict]:
        """(f₁ + f₂ + noise, F + σξ̄): the pseudo-gradient (∇ₓf₁, ∇ᵧf₂) = Hz plus the oracle noise."""
        x, y, a = params["x"], params["y"], self.matrix
        xi = jnp.mean(batch["xi"], axis=0)
        noise = jax.grad(lambda p: self._noise_term(p, xi))(params)
        field = {
            "x": self.mu_x * x + self.coupling_x * (a @ y) + noise["x"],
            "y": self.mu_y * y + self.coupling_y * (a.T @ x) + noise["y"],
        }
        return self.loss(params, batch), field

    def metrics(self, params: dict) -> dict[str, jax.Array]:
        xx, yy = jnp.sum(params["x"] ** 2), jnp.sum(params["y"] ** 2)
        return {
            "distance_to_equilibrium": jnp.sqrt(xx + yy),
            "distance_x": jnp.sqrt(xx),
            "distance_y": jnp.sqrt(yy),
            "weighted_distance": jnp.sqrt(xx + self.metric_ratio * yy),
            "value": self.value(params),
        }

    def field_matrix(self) -> jax.Array:
        """H with F(z) = H z for z = (x, y)."""
        eye = jnp.eye(self.dim, dtype=jnp.result_type(float))
        a = self.matrix
        return jnp.block([[self.mu_x * eye, self.coupling_x * a], [self.coupling_y * a.T, self.mu_y * eye]])

    @property
    def smoothness(self) -> jax.Array:
        return jnp.linalg.norm(self.field_matrix(), 2)

    @property
    def strong_convexity(self) -> jax.Array:
        """λ_min(sym H): the Euclidean strong-monotonicity modulus of F (negative when F is not monotone)."""
        h = self.field_matrix()
        return jnp.linalg.eigvalsh(0.5 * (h + h.T))[0]

    def optimum(self) -> dict:
        zero = jnp.zeros((self.dim,), jnp.result_type(float))
        return {"x": zero, "y": zero}
