r"""A matrix game on simplices, played in logits: :math:`\min_{p\in\Delta_n}\max_{q\in\Delta_m} p^\top A q`.

The players hold logits x, y and play the mixed strategies :math:`p=\mathrm{softmax}(x)`,
:math:`q=\mathrm{softmax}(y)`; :math:`f(x,y) = p^\top A q`. (Descent–ascent on logits is the
"softmax policy gradient" of the game; multiplicative weights / exponentiated gradient is mirror
descent in p.) ``matrix = "rps"``: rock–paper–scissors,
:math:`A=\begin{psmallmatrix}0&1&-1\\-1&0&1\\1&-1&0\end{psmallmatrix}` (row player pays), unique equilibrium
uniform, value 0; ``"random"``: an ``rows × cols`` Gaussian matrix (seed ``matrix_seed``), value
computed at construction by linear programming (scipy's HiGHS). Metric: the duality gap

.. math:: \mathrm{gap}(p, q) = \max_j (A^\top p)_j - \min_i (Aq)_i \;\ge 0,

zero exactly at Nash equilibria; also the distance of (p, q) to the equilibrium when it is unique
and known (rps). Simultaneous gradient play cycles or diverges from the interior equilibrium of
RPS, optimistic / extragradient methods converge (last iterate).

References: Daskalakis, Panageas, *Last-iterate convergence: zero-sum games and constrained min-max
optimization* (1807.04252); Mertikopoulos, Papadimitriou, Piliouras, *Cycles in adversarial regularized
learning* (1709.02738); Freund, Schapire, *Adaptive game playing using multiplicative weights* (1999).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from descentlab.problems._game import Game
from descentlab.problems.base import hyper, static
from descentlab.problems.registry import register_problem

ROCK_PAPER_SCISSORS = np.array([[0.0, 1.0, -1.0], [-1.0, 0.0, 1.0], [1.0, -1.0, 0.0]])


@functools.lru_cache(maxsize=16)
def payoff_matrix(kind: str, rows: int, cols: int, seed: int) -> np.ndarray:
    if kind == "rps":
        return ROCK_PAPER_SCISSORS
    return np.random.default_rng(seed).standard_normal((rows, cols))


@functools.lru_cache(maxsize=16)
def game_value(kind: str, rows: int, cols: int, seed: int) -> float:
    """min_p max_q pᵀAq by the LP  min v  s.t.  Aᵀp ≤ v·1, p ∈ Δ."""
    from scipy.optimize import linprog

    a = payoff_matrix(kind, rows, cols, seed)
    n, m = a.shape
    c = np.zeros(n + 1)
    c[-1] = 1.0
    a_ub = np.hstack([a.T, -np.ones((m, 1))])
    a_eq = np.hstack([np.ones((1, n)), np.zeros((1, 1))])
    bounds = [(0.0, None)] * n + [(None, None)]
    result = linprog(c, A_ub=a_ub, b_ub=np.zeros(m), A_eq=a_eq, b_eq=[1.0], bounds=bounds, method="highs")
    if not result.success:
        raise RuntimeError(f"matrix game LP failed: {result.message}")
    return float(result.x[-1])


@register_problem("matrix_game")
@dataclasses.dataclass(frozen=True)
class MatrixGame(Game):
    """Zero-sum matrix game on simplices (logit parametrisation); metric: the duality gap."""

    summary = "Zero-sum matrix game on simplices (rock–paper–scissors or random), softmax players; duality gap."
    references = (
        "Daskalakis, Panageas. Last-iterate convergence: zero-sum games and constrained min-max (1807.04252)",
        "Mertikopoulos, Papadimitriou, Piliouras. Cycles in adversarial regularized learning (1709.02738)",
        "Freund, Schapire. Adaptive game playing using multiplicative weights (1999)",
    )
    monitor = "duality_gap"
    tiny: ClassVar[dict] = {"matrix": "random", "rows": 3, "cols": 4, "grad_noise": 0.1}
    arrays: ClassVar[tuple] = (("rows", "cols", 4),)  # the payoff matrix and its linear program

    matrix: str = static("rps", "payoff matrix", choices=("rps", "random"))
    rows: int = static(3, "random: strategies of the minimizing player", low=1, high=10_000)
    cols: int = static(3, "random: strategies of the maximizing player", low=1, high=10_000)
    matrix_seed: int = static(0, "random: seed of A", low=0)
    init_scale: float = hyper(1.0, "logits x₀, y₀ ~ init_scale · N(0, I)", low=0.0)
    grad_noise: float = hyper(0.0, "stochastic oracle: σ of the additive noise on the field", low=0.0)

    @property
    def payoff(self) -> jax.Array:
        return jnp.asarray(payoff_matrix(self.matrix, self.rows, self.cols, self.matrix_seed), jnp.result_type(float))

    def init(self, key: jax.Array) -> dict:
        dtype = jnp.result_type(float)
        n, m = self.payoff.shape
        kx, ky = jax.random.split(key)
        return {
            "x": self.init_scale * jax.random.normal(kx, (n,), dtype),
            "y": self.init_scale * jax.random.normal(ky, (m,), dtype),
        }

    def strategies(self, params: dict) -> tuple[jax.Array, jax.Array]:
        return jax.nn.softmax(params["x"]), jax.nn.softmax(params["y"])

    def value(self, params: dict) -> jax.Array:
        p, q = self.strategies(params)
        return p @ self.payoff @ q

    def duality_gap(self, params: dict) -> jax.Array:
        p, q = self.strategies(params)
        return jnp.max(self.payoff.T @ p) - jnp.min(self.payoff @ q)

    def metrics(self, params: dict) -> dict[str, jax.Array]:
        out = {"duality_gap": self.duality_gap(params), "value": self.value(params)}
        if self.matrix == "rps":
            p, q = self.strategies(params)
            out["distance_to_equilibrium"] = jnp.sqrt(jnp.sum((p - 1 / 3) ** 2) + jnp.sum((q - 1 / 3) ** 2))
        return out

    @property
    def f_star(self) -> float:
        """The value of the game."""
        return game_value(self.matrix, self.rows, self.cols, self.matrix_seed)

    def optimum(self) -> dict | None:
        """Uniform logits (zero) for rock–paper–scissors; None otherwise (an equilibrium may be on the boundary)."""
        if self.matrix != "rps":
            return None
        zero = jnp.zeros((3,), jnp.result_type(float))
        return {"x": zero, "y": zero}
