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
and known (rps, biased_rps). ``"biased_rps"`` is the skew-symmetric
:math:`A=\begin{psmallmatrix}0&1&-2\\-1&0&1\\2&-1&0\end{psmallmatrix}`, value 0, unique interior
equilibrium :math:`p=q=(1,2,1)/4`.

Policy parametrizations (``parametrization``): ``"softmax"`` (logits, the default) or ``"direct"`` —
the parameters are the mixed strategies themselves, initialised at the softmax of the Gaussian logits
and kept on the simplex by a projecting optimizer (``alternating_gda`` / ``simultaneous_gda`` with
``geometry = "simplex"``). Regularization (``regularizer`` ≠ ``"none"``, strength τ = ``tau``): the
regularized game :math:`f_\tau(p, q) = p^\top A q + \tau R(p) - \tau R(q)` is strongly convex–concave,
with :math:`R(p) = \sum_i p_i\log p_i` (``"entropy"``) or :math:`R(p)=\tfrac12\lVert p\rVert^2`
(``"l2"``). Its unique equilibrium :math:`z_\tau` has duality gap (exploitability) in the original game
at most :math:`\tau(\Delta R_x + \Delta R_y)` (:math:`\Delta R` the range of R on the simplex:
:math:`\log n` for entropy, :math:`(1-1/n)/2` for l2), and the metric ``regularized_gap``

.. math:: \mathrm{gap}_\tau(p, q) = \max_{q'} f_\tau(p, q') - \min_{p'} f_\tau(p', q)

(closed forms: :math:`\tau\,\mathrm{LSE}(c/\tau)` for entropy, the projection of :math:`c/\tau` onto the
simplex for l2) is zero exactly at :math:`z_\tau`; at τ = 0 it is the duality gap.
``regularizer = "none"`` (the default) leaves the objective and the metrics as they were.

Simultaneous gradient play cycles or diverges from the interior equilibrium of
RPS, optimistic / extragradient methods converge (last iterate).

References: Daskalakis, Panageas, *Last-iterate convergence: zero-sum games and constrained min-max
optimization* (1807.04252); Mertikopoulos, Papadimitriou, Piliouras, *Cycles in adversarial regularized
learning* (1709.02738); Freund, Schapire, *Adaptive game playing using multiplicative weights* (1999);
Kalogiannis, Farina, *Policy Gradient Methods Converge Globally in Imperfect-Information Extensive-Form
Games* (NeurIPS 2025, OpenReview VYY5sG4EMm) for the regularized game and the parametrizations.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from descentlab.optim._common import simplex_projection
from descentlab.problems._game import Game
from descentlab.problems.base import hyper, static
from descentlab.problems.registry import register_problem

ROCK_PAPER_SCISSORS = np.array([[0.0, 1.0, -1.0], [-1.0, 0.0, 1.0], [1.0, -1.0, 0.0]])
BIASED_ROCK_PAPER_SCISSORS = np.array([[0.0, 1.0, -2.0], [-1.0, 0.0, 1.0], [2.0, -1.0, 0.0]])
EQUILIBRIA = {"rps": np.full(3, 1 / 3), "biased_rps": np.array([0.25, 0.5, 0.25])}


@functools.lru_cache(maxsize=16)
def payoff_matrix(kind: str, rows: int, cols: int, seed: int) -> np.ndarray:
    if kind == "rps":
        return ROCK_PAPER_SCISSORS
    if kind == "biased_rps":
        return BIASED_ROCK_PAPER_SCISSORS
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

    matrix: str = static("rps", "payoff matrix", choices=("rps", "random", "biased_rps"))
    rows: int = static(3, "random: strategies of the minimizing player", low=1, high=10_000)
    cols: int = static(3, "random: strategies of the maximizing player", low=1, high=10_000)
    matrix_seed: int = static(0, "random: seed of A", low=0)
    init_scale: float = hyper(1.0, "logits x₀, y₀ ~ init_scale · N(0, I)", low=0.0)
    grad_noise: float = hyper(0.0, "stochastic oracle: σ of the additive noise on the field", low=0.0)
    parametrization: str = static(
        "softmax",
        "softmax: logits; direct: the mixed strategies (use a simplex-projecting optimizer)",
        choices=("softmax", "direct"),
    )
    regularizer: str = static("none", "R of the regularized game f + τR(p) − τR(q)", choices=("none", "entropy", "l2"))
    tau: float = hyper(0.0, "τ: strength of the regularizer (with regularizer ≠ none)", low=0.0)

    @property
    def payoff(self) -> jax.Array:
        return jnp.asarray(payoff_matrix(self.matrix, self.rows, self.cols, self.matrix_seed), jnp.result_type(float))

    def init(self, key: jax.Array) -> dict:
        dtype = jnp.result_type(float)
        n, m = self.payoff.shape
        kx, ky = jax.random.split(key)
        x = self.init_scale * jax.random.normal(kx, (n,), dtype)
        y = self.init_scale * jax.random.normal(ky, (m,), dtype)
        if self.parametrization == "direct":
            return {"x": jax.nn.softmax(x), "y": jax.nn.softmax(y)}
        return {"x": x, "y": y}

    def strategies(self, params: dict) -> tuple[jax.Array, jax.Array]:
        if self.parametrization == "direct":
            return params["x"], params["y"]
        return jax.nn.softmax(params["x"]), jax.nn.softmax(params["y"])

    def _regularizer(self, strategy: jax.Array, logits: jax.Array) -> jax.Array:
        """R(p): Σ p log p (entropy, with log p = log_softmax of the logits when softmax) or ½‖p‖² (l2)."""
        if self.regularizer == "l2":
            return 0.5 * jnp.sum(strategy**2)
        if self.parametrization == "softmax":
            return jnp.sum(strategy * jax.nn.log_softmax(logits))
        return jnp.sum(jax.scipy.special.xlogy(strategy, strategy))

    def value(self, params: dict) -> jax.Array:
        p, q = self.strategies(params)
        out = p @ self.payoff @ q
        if self.regularizer != "none":
            out = out + self.tau * (self._regularizer(p, params["x"]) - self._regularizer(q, params["y"]))
        return out

    def _conjugate(self, c: jax.Array, tau: jax.Array) -> jax.Array:
        """max over the simplex of ⟨c, s⟩ − τ R(s) (τ > 0)."""
        if self.regularizer == "entropy":
            return tau * jax.nn.logsumexp(c / tau)
        s = simplex_projection(c / tau)
        return c @ s - 0.5 * tau * jnp.sum(s**2)

    def regularized_gap(self, params: dict) -> jax.Array:
        """max_q' f_τ(p, q') − min_p' f_τ(p', q) ≥ 0, zero at the regularized equilibrium (the duality gap at τ=0)."""
        p, q = self.strategies(params)
        tau = jnp.asarray(self.tau, p.dtype)
        positive = tau > 0
        safe = jnp.where(positive, tau, 1.0)
        upper = safe * self._regularizer(p, params["x"]) + self._conjugate(self.payoff.T @ p, safe)
        lower = -safe * self._regularizer(q, params["y"]) - self._conjugate(-(self.payoff @ q), safe)
        return jnp.where(positive, upper - lower, self.duality_gap(params))

    def duality_gap(self, params: dict) -> jax.Array:
        p, q = self.strategies(params)
        return jnp.max(self.payoff.T @ p) - jnp.min(self.payoff @ q)

    def metrics(self, params: dict) -> dict[str, jax.Array]:
        out = {"duality_gap": self.duality_gap(params), "value": self.value(params)}
        if self.matrix in EQUILIBRIA:
            p, q = self.strategies(params)
            star = jnp.asarray(EQUILIBRIA[self.matrix], p.dtype)
            out["distance_to_equilibrium"] = jnp.sqrt(jnp.sum((p - star) ** 2) + jnp.sum((q - star) ** 2))
        if self.regularizer != "none":
            out["regularized_gap"] = self.regularized_gap(params)
        return out

    @property
    def f_star(self) -> float:
        """The value of the game."""
        return game_value(self.matrix, self.rows, self.cols, self.matrix_seed)

    def optimum(self) -> dict | None:
        """The equilibrium of the unregularized game for rps / biased_rps (logits: log p, shifted so rps has zero
        logits; direct: p); None otherwise (an equilibrium may be on the boundary)."""
        if self.matrix not in EQUILIBRIA:
            return None
        star = jnp.asarray(EQUILIBRIA[self.matrix], jnp.result_type(float))
        if self.parametrization == "direct":
            return {"x": star, "y": star}
        logits = jnp.log(star) - jnp.mean(jnp.log(star))
        return {"x": logits, "y": logits}
