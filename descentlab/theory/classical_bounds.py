r"""Classical convergence-rate upper bounds, as curves computed from the problem's known constants.

Notation: :math:`D^2 = \|x_0-x^\star\|^2` (``dist0_sq``), L-smoothness ``smoothness``, μ-strong
convexity ``strong_convexity``, :math:`\sigma_\star^2 = E\|\nabla f_i(x^\star)\|^2` (``sigma_star_sq``:
the gradient noise at the optimum), G the Lipschitz constant (``lipschitz``), n the number of
examples. Step sizes :math:`\gamma_t` follow the named schedule (optax count t drives update t+1).
Each bound is stated next to the assumption it needs; a run that breaks it may violate the curve.

* ``gd_convex`` — GD, f convex and L-smooth, γ ≤ 1/L:
  :math:`f(x_t)-f^\star \le D^2/(2\gamma t)` (and :math:`LD^2/2` at t = 0). [G&G Thm 3.4]
* ``gd_strongly_convex`` — GD, μ-strongly convex, γ ≤ 1/L:
  :math:`\|x_t-x^\star\|^2 \le (1-\gamma\mu)^t D^2`. [G&G Thm 3.6]
* ``sgd_strongly_convex`` — SGD, f μ-strongly convex, the :math:`f_i` convex with expected smoothness L,
  :math:`\gamma_t\le 1/(2L)`: :math:`r_{t+1} \le (1-\gamma_t\mu) r_t + 2\gamma_t^2\sigma_\star^2`, :math:`r_0 = D^2`,
  for :math:`r_t = E\|x_t-x^\star\|^2`; constant γ gives :math:`(1-\gamma\mu)^tD^2 + 2\gamma\sigma_\star^2/\mu`,
  decreasing steps the :math:`O(1/t)` rate. [G&G Thm 5.3 and its proof; Gower et al. 2019]
* ``sgd_convex`` — SGD, f convex, the :math:`f_i` convex with expected smoothness L, :math:`\gamma_t\le 1/(4L)`:
  :math:`E f(\bar x_t) - f^\star \le \big(D^2 + 2\sigma_\star^2\sum_{s<t}\gamma_s^2\big)/\sum_{s<t}\gamma_s`
  for the γ-weighted average :math:`\bar x_t = \sum_{s<t}\gamma_s x_s/\sum_{s<t}\gamma_s`. [G&G Thm 5.5]
* ``shuffling_strongly_convex`` — random reshuffling or single shuffle, every :math:`f_i` μ-strongly
  convex and L-smooth, γ ≤ 1/L, after k epochs (t = kn):
  :math:`E\|x_t-x^\star\|^2 \le (1-\gamma\mu)^{kn}D^2 + 2\gamma^2\sigma_{\rm Shuffle}^2/\mu` with
  :math:`\sigma_{\rm Shuffle}^2 \le \gamma L n\sigma_\star^2/4`; NaN between epochs.
  [Mishchenko, Khaled, Richtárik 2020, Thm 1 and Prop 1]
* ``proximal_gd_convex`` / ``proximal_gd_strongly_convex`` — F = f + g, f L-smooth convex (μ-strongly),
  g convex, γ ≤ 1/L: :math:`F(x_t)-F^\star\le D^2/(2\gamma t)`; :math:`\|x_t-x^\star\|^2\le(1-\gamma\mu)^tD^2`.
  [G&G Thms 10.3, 10.5]
* ``subgradient`` — subgradient method, f convex and G-Lipschitz:
  :math:`\min_{s<t} f(x_s)-f^\star \le \big(D^2 + G^2\sum_{s<t}\gamma_s^2\big)/\big(2\sum_{s<t}\gamma_s\big)`.
  [G&G Thm 9.6]

Reference: Garrigos & Gower, *Handbook of Convergence Theorems for (Stochastic) Gradient Methods*
(2301.11235); Mishchenko, Khaled, Richtárik, *Random Reshuffling: Simple Analysis with Vast
Improvements* (2006.05988).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from descentlab.params import Param
from descentlab.theory._least_squares import OPTIMIZER_PARAMS, SCHEDULE_PARAMS, learning_rates
from descentlab.theory.registry import register_prediction

HANDBOOK = "Garrigos & Gower, Handbook of Convergence Theorems for (Stochastic) Gradient Methods (2301.11235)"

_POS = dict(low=0.0, low_open=True)
L = {"smoothness": Param("float", 1.0, "L: smoothness constant (expected smoothness for SGD)", **_POS)}
MU = {"strong_convexity": Param("float", 0.1, "μ: strong convexity constant", **_POS)}
D2 = {"dist0_sq": Param("float", 1.0, "D² = ‖x₀ − x*‖²", low=0.0)}
NOISE = {"sigma_star_sq": Param("float", 0.0, "σ*² = E‖∇f_i(x*)‖², the gradient noise at the optimum", low=0.0)}
G = {"lipschitz": Param("float", 1.0, "G: Lipschitz constant of f", **_POS)}
SUB = {"suboptimality": "suboptimality"}
DIST = {"distance": "distance_to_optimum"}  # E‖x − x*‖ ≤ √(E‖x − x*‖²) (Jensen), so √bound bounds it
STEP = {
    "learning_rate": Param("float", 0.5, "step size γ₀", **_POS),
    "schedule": OPTIMIZER_PARAMS["schedule"],
    "total_steps": Param("int", 0, "the run's total steps for the schedule (0: the last step of the grid)", low=0),
    **SCHEDULE_PARAMS,
}


def _steps_and_rates(steps: np.ndarray, params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(γ_t for t < T, Σ_{s<t} γ_s on the grid, Σ_{s<t} γ_s² on the grid)."""
    etas = learning_rates(int(steps.max()), params)
    cum = np.concatenate([[0.0], np.cumsum(etas)])
    cum2 = np.concatenate([[0.0], np.cumsum(etas**2)])
    return etas, cum[steps], cum2[steps]


def _sublinear(d2: float, cum: np.ndarray, at_zero: float) -> np.ndarray:
    """D²/(2Σγ), with ``at_zero`` where no step has been taken."""
    safe = np.where(cum > 0, cum, 1.0)
    return np.where(cum > 0, d2 / (2.0 * safe), at_zero)


def _contraction(steps: np.ndarray, etas: np.ndarray, mu: float, d2: float, noise: float) -> np.ndarray:
    """r_{t+1} = |1 − γ_t μ| r_t + 2γ_t²σ*², r_0 = D², read on the grid."""
    r = np.empty(etas.size + 1)
    r[0] = d2
    factors = np.abs(1.0 - etas * mu)
    forcing = 2.0 * noise * etas**2
    for t in range(etas.size):
        r[t + 1] = factors[t] * r[t] + forcing[t]
    return r[steps]


@register_prediction(
    "gd_convex",
    {**L, **D2, **STEP},
    "GD on a convex L-smooth f (γ ≤ 1/L): f(x_t) − f* ≤ D²/(2γt)",
    HANDBOOK + ", Thm 3.4",
    kind="bound",
    metrics=SUB,
)
def gd_convex(steps: np.ndarray, **p: Any) -> dict[str, np.ndarray]:
    _, cum, _ = _steps_and_rates(steps, p)
    return {"suboptimality": _sublinear(p["dist0_sq"], cum, 0.5 * p["smoothness"] * p["dist0_sq"])}


@register_prediction(
    "gd_strongly_convex",
    {**L, **MU, **D2, **STEP},
    "GD on a μ-strongly convex L-smooth f (γ ≤ 1/L): ‖x_t − x*‖² ≤ (1 − γμ)^t D²",
    HANDBOOK + ", Thm 3.6",
    kind="bound",
    metrics=DIST,
)
def gd_strongly_convex(steps: np.ndarray, **p: Any) -> dict[str, np.ndarray]:
    etas = learning_rates(int(steps.max()), p)
    dist = _contraction(steps, etas, p["strong_convexity"], p["dist0_sq"], 0.0)
    return {"distance_sq": dist, "distance": np.sqrt(dist), "suboptimality": 0.5 * p["smoothness"] * dist}


@register_prediction(
    "sgd_strongly_convex",
    {**L, **MU, **D2, **NOISE, **STEP},
    "SGD, μ-strongly convex, γ_t ≤ 1/(2L): E‖x_t − x*‖² ≤ (1−γμ)^t D² + 2γσ*²/μ (any schedule)",
    HANDBOOK + ", Thm 5.3",
    kind="bound",
    metrics=DIST,
)
def sgd_strongly_convex(steps: np.ndarray, **p: Any) -> dict[str, np.ndarray]:
    etas = learning_rates(int(steps.max()), p)
    dist = _contraction(steps, etas, p["strong_convexity"], p["dist0_sq"], p["sigma_star_sq"])
    return {"distance_sq": dist, "distance": np.sqrt(dist)}


@register_prediction(
    "sgd_convex",
    {**L, **D2, **NOISE, **STEP},
    "SGD, convex, γ_t ≤ 1/(4L): E f(x̄_t) − f* ≤ (D² + 2σ*²Σγ²)/Σγ (γ-weighted average iterate)",
    HANDBOOK + ", Thm 5.5",
    kind="bound",
)
def sgd_convex(steps: np.ndarray, **p: Any) -> dict[str, np.ndarray]:
    _, cum, cum2 = _steps_and_rates(steps, p)
    with np.errstate(divide="ignore", invalid="ignore"):
        bound = (p["dist0_sq"] + 2.0 * p["sigma_star_sq"] * cum2) / cum
    return {"suboptimality": np.where(cum > 0, bound, np.inf)}


@register_prediction(
    "shuffling_strongly_convex",
    {**L, **MU, **D2, **NOISE, **STEP, "n_examples": Param("int", 100, "n: examples per epoch", low=1)},
    "Random reshuffling / single shuffle, f_i μ-strongly convex, γ ≤ 1/L: (1−γμ)^{nk}D² + γ³Lnσ*²/(2μ)",
    "Mishchenko, Khaled, Richtárik. Random Reshuffling: Simple Analysis with Vast Improvements (2006.05988), Thm 1",
    kind="bound",
    metrics=DIST,
)
def shuffling_strongly_convex(steps: np.ndarray, **p: Any) -> dict[str, np.ndarray]:
    gamma, mu, n = p["learning_rate"], p["strong_convexity"], p["n_examples"]
    shuffle_var = gamma * p["smoothness"] * n * p["sigma_star_sq"] / 4.0
    bound = np.abs(1.0 - gamma * mu) ** steps.astype(np.float64) * p["dist0_sq"] + 2.0 * gamma**2 * shuffle_var / mu
    dist = np.where(steps % n == 0, bound, np.nan)
    return {"distance_sq": dist, "distance": np.sqrt(dist)}


@register_prediction(
    "proximal_gd_convex",
    {**L, **D2, **STEP},
    "Proximal GD, F = f + g, f convex L-smooth, g convex, γ ≤ 1/L: F(x_t) − F* ≤ D²/(2γt)",
    HANDBOOK + ", Thm 10.3",
    kind="bound",
    metrics=SUB,
)
def proximal_gd_convex(steps: np.ndarray, **p: Any) -> dict[str, np.ndarray]:
    _, cum, _ = _steps_and_rates(steps, p)
    return {"suboptimality": _sublinear(p["dist0_sq"], cum, np.inf)}


@register_prediction(
    "proximal_gd_strongly_convex",
    {**L, **MU, **D2, **STEP},
    "Proximal GD, f μ-strongly convex L-smooth, g convex, γ ≤ 1/L: ‖x_t − x*‖² ≤ (1−γμ)^t D²",
    HANDBOOK + ", Thm 10.5",
    kind="bound",
    metrics=DIST,
)
def proximal_gd_strongly_convex(steps: np.ndarray, **p: Any) -> dict[str, np.ndarray]:
    etas = learning_rates(int(steps.max()), p)
    dist = _contraction(steps, etas, p["strong_convexity"], p["dist0_sq"], 0.0)
    return {"distance_sq": dist, "distance": np.sqrt(dist)}


@register_prediction(
    "subgradient",
    {**G, **D2, **STEP},
    "Subgradient method, f convex G-Lipschitz: min_{s<t} f(x_s) − f* ≤ (D² + G²Σγ²)/(2Σγ)",
    HANDBOOK + ", Thm 9.6",
    kind="bound",
)
def subgradient(steps: np.ndarray, **p: Any) -> dict[str, np.ndarray]:
    _, cum, cum2 = _steps_and_rates(steps, p)
    with np.errstate(divide="ignore", invalid="ignore"):
        bound = (p["dist0_sq"] + p["lipschitz"] ** 2 * cum2) / (2.0 * cum)
    return {"best_suboptimality": np.where(cum > 0, bound, np.inf)}
