r"""Gradient descent with a constant step on nonsmooth and Lipschitz objectives: where it ends up.

Kumar, *GD doesn't make the cut: three ways that non-differentiability affects neural network training*
(2401.08426), contrasts gradient methods on non-differentiable functions ("NGDMs") with the L-smooth theory.
Two exact statements on the separable objectives of :mod:`descentlab.problems.pseudo_huber`:

* **ℓ1 norm** (``l1_gd``). GD :math:`x_{t+1}=x_t-\eta\,\operatorname{sign}(x_t)` moves each coordinate
  toward 0 by exactly η until :math:`|x_{t,i}|<\eta`, then enters the 2-cycle :math:`\{r_i,\ r_i-\eta\}`,
  :math:`r_i = |x_{0,i}| - \lfloor|x_{0,i}|/\eta\rfloor\eta`: per coordinate
  :math:`|x_{t,i}| = a-t\eta` for :math:`t\le k=\lfloor a/\eta\rfloor` (a = |x₀ᵢ|), then r or η − r as
  t − k is even or odd. So :math:`f(x_t)` stalls on a plateau whose two-step mean is :math:`d\eta/2` — it
  never converges, unlike GD on an L-smooth convex function, for which
  :math:`f(x_t)-f^\star\le\lVert x_0-x^\star\rVert^2/(2\eta t)\to0` (η ≤ 1/L). With
  :math:`x_0\sim s\,\mathcal N(0,I_d)` the expected value :math:`\mathbb E f(x_t)=d\,\mathbb E\,h_t(|x_{0,1}|)`
  is computed here by the midpoint rule over the half-normal law of |x₀ᵢ| (≥ 40 nodes per η; relative error
  < 1e-5).
* **pseudo-Huber** (``pseudo_huber_gd``), :math:`\phi_\varepsilon(x)=\sqrt{x^2+\varepsilon^2}-\varepsilon`,
  1-Lipschitz, convex, C^∞, sharpness 1/ε at the minimizer. The GD map
  :math:`g(x)=x-\eta x/\sqrt{x^2+\varepsilon^2}` has :math:`g'(0)=1-\eta/\varepsilon`: for η < 2ε GD
  converges to 0 (limit sharpness 1/ε, loss 0). For η > 2ε the minimizer is unstable — its sharpness 1/ε
  exceeds 2/η — yet GD cannot diverge (the gradient is bounded); it settles on the symmetric 2-cycle ±a,
  :math:`2a=\eta\,a/\sqrt{a^2+\varepsilon^2}`, i.e. :math:`\sqrt{a^2+\varepsilon^2}=\eta/2`, whose multiplier
  :math:`(1-8\varepsilon^2/\eta^2)^2<1` makes it attracting. There the loss is :math:`d(\eta/2-\varepsilon)`
  and the sharpness is :math:`\phi''_\varepsilon(a)=\varepsilon^2/(\eta/2)^3 = 8\varepsilon^2/\eta^3
  = (2/\eta)\,(2\varepsilon/\eta)^2` — a factor :math:`(2\varepsilon/\eta)^2` *below* the edge-of-stability
  line 2/η, not hovering at it (Cohen et al. 2103.00065), and scaling as η⁻³ instead of η⁻¹.

References: Kumar (2401.08426); Cohen, Kaur, Li, Kolter, Talwalkar (2103.00065); Nesterov, *Introductory
Lectures on Convex Optimization* (2004) §3.2 (the constant-step subgradient method).
"""

from __future__ import annotations

import numpy as np

from descentlab.params import Param
from descentlab.theory.registry import register_prediction

KUMAR = (
    "Kumar. GD doesn't make the cut: three ways that non-differentiability affects neural network training (2401.08426)"
)

LR = Param("float", 0.1, "learning rate η", low=0.0, low_open=True)
DIM = Param("int", 10, "dimension d", low=1)
INIT = Param("float", 1.0, "x₀ ~ init_scale · N(0, I_d)", low=0.0, low_open=True)
EPS = Param("float", 0.1, "smoothing ε", low=0.0, low_open=True)


def l1_coordinate(a: np.ndarray, steps: np.ndarray, eta: float) -> np.ndarray:
    """|x_t| of GD x ← x − η sign(x) from |x₀| = a (array), for every t in ``steps``: shape (len(steps), len(a))."""
    a = np.asarray(a, dtype=np.float64)[None, :]
    t = np.asarray(steps, dtype=np.float64)[:, None]
    k = np.floor(a / eta)
    r = a - k * eta
    late = np.where(r == 0, 0.0, np.where(np.mod(t - k, 2) == 0, r, eta - r))  # r = 0: lands on 0, stays
    return np.where(t <= k, a - t * eta, late)


def l1_plateau(learning_rate: float, dim: int) -> float:
    """The two-step mean of f(x_t) = ‖x_t‖₁ once every coordinate cycles: dη/2."""
    return dim * learning_rate / 2.0


def smooth_bound(learning_rate: float, distance_sq: float, steps: np.ndarray) -> np.ndarray:
    """The L-smooth convex guarantee f(x_t) − f* ≤ ‖x₀ − x*‖²/(2ηt) (η ≤ 1/L), inf at t = 0."""
    t = np.asarray(steps, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(t > 0, distance_sq / (2.0 * learning_rate * np.maximum(t, 1.0)), np.inf)


@register_prediction(
    "l1_gd",
    {"learning_rate": LR, "dim": DIM, "init_scale": INIT},
    "GD on ‖x‖₁ with a constant step: exact E f(x_t) from x₀ ~ s·N(0, I); a plateau of two-step mean dη/2",
    KUMAR,
    kind="exact",
    problem="pseudo_huber",
    metrics={"suboptimality": "suboptimality"},
)
def l1_gd(
    steps: np.ndarray, learning_rate: float = 0.1, dim: int = 10, init_scale: float = 1.0
) -> dict[str, np.ndarray]:
    """E‖x_t‖₁ by quadrature over |x₀ᵢ| ~ half-normal(init_scale), and the plateau dη/2."""
    # the integrand is piecewise linear in a with kinks at multiples of η: a grid much finer than η
    top = 9.0 * init_scale
    n = int(min(max(40 * top / learning_rate, 4_000), 400_000))
    a = (np.arange(n) + 0.5) * (top / n)
    weight = np.sqrt(2.0 / np.pi) / init_scale * np.exp(-0.5 * (a / init_scale) ** 2) * (top / n)
    expected = np.stack([l1_coordinate(a, np.asarray([t]), learning_rate)[0] @ weight for t in steps])
    return {
        "suboptimality": dim * expected,
        "plateau": np.full(len(steps), l1_plateau(learning_rate, dim)),
        "smooth_bound": smooth_bound(learning_rate, dim * init_scale**2, steps),
    }


def pseudo_huber_cycle(learning_rate: float, smoothing: float) -> dict[str, float]:
    """Where GD on φ_ε ends: the 2-cycle amplitude a, the sharpness φ''(a) and the loss φ(a) per coordinate."""
    eta, eps = float(learning_rate), float(smoothing)
    if eta <= 2.0 * eps:
        return {"amplitude": 0.0, "sharpness": 1.0 / eps, "loss": 0.0}
    half = eta / 2.0
    return {"amplitude": float(np.sqrt(half**2 - eps**2)), "sharpness": eps**2 / half**3, "loss": half - eps}


@register_prediction(
    "pseudo_huber_gd",
    {"learning_rate": LR, "smoothing": EPS, "dim": DIM},
    "GD on Σ(√(xᵢ²+ε²)−ε): converges for η < 2ε, else a 2-cycle with sharpness 8ε²/η³ below 2/η (t → ∞)",
    KUMAR + "; Cohen et al. 2103.00065 (the 2/η line)",
    kind="limit",
    problem="pseudo_huber",
    metrics={"suboptimality": "suboptimality", "sharpness": "sharpness"},
)
def pseudo_huber_gd(
    steps: np.ndarray, learning_rate: float = 0.1, smoothing: float = 0.1, dim: int = 10
) -> dict[str, np.ndarray]:
    """The t → ∞ loss and sharpness of GD (constant in t), and the edge-of-stability line 2/η."""
    cycle = pseudo_huber_cycle(learning_rate, smoothing)
    ones = np.ones(len(steps))
    return {
        "suboptimality": dim * cycle["loss"] * ones,
        "sharpness": cycle["sharpness"] * ones,
        "edge_of_stability": 2.0 / learning_rate * ones,
    }
