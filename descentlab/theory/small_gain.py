r"""Small-Gain Nash (SGN): a certified contraction rate for gradient play in a block-weighted metric.

Sharma, *Small-Gain Nash: Certified Contraction to Nash Equilibria in Differentiable Games* (2512.06791).

A game with players i = 1..N, strategies :math:`z_i`, and pseudo-gradient
:math:`F(z) = (\nabla_{z_1}f_1, \dots, \nabla_{z_N}f_N)` with Jacobian blocks :math:`J_{ij} = \partial_{z_j}F_i`.
The certificate needs, on the region considered, each player's own curvature and the cross-player couplings

.. math:: \mu_i \le \lambda_{\min}(\mathrm{sym}\,J_{ii}), \qquad L_{ij} \ge \lVert J_{ij}\rVert_2 \quad (i\ne j),

(exact for a quadratic game: :func:`block_bounds`). For block weights w_i > 0, the SGN matrix is

.. math:: C(w)_{ii} = 2w_i\mu_i, \qquad C(w)_{ij} = -(w_iL_{ij} + w_jL_{ji}),

and the SGN margin :math:`\alpha_*(w) = \tfrac12\lambda_{\min}(D^{-1/2}C(w)D^{-1/2})`, D = diag(w). Since
:math:`\langle z, F(z)-F(z')\rangle_W \ge \tfrac12 p^\top C(w) p` with :math:`p_i=\lVert z_i - z'_i\rVert`, F is
:math:`\alpha_*`-strongly monotone in the metric :math:`\langle u, v\rangle_W = \sum_i w_i\langle u_i, v_i\rangle`
whenever :math:`\alpha_*(w) > 0` (C(w) positive definite) — even when it is not monotone in the Euclidean
metric (:math:`\lambda_{\min}(\mathrm{sym}\,J) < 0`). Then:

* the flow :math:`\dot z = -F(z)` contracts,
  :math:`\lVert z(t)-z^\star\rVert_W \le e^{-\alpha_* t}\lVert z(0)-z^\star\rVert_W`;
* with β the Lipschitz constant of F in :math:`\lVert\cdot\rVert_W` (for a linear field
  :math:`\beta = \lVert W^{1/2}JW^{-1/2}\rVert_2`), Euler steps :math:`z_{k+1} = z_k - \eta F(z_k)` satisfy

  .. math:: \lVert z_{k+1}-z^\star\rVert_W^2 \le (1 - 2\eta\alpha_* + \eta^2\beta^2)\,\lVert z_k - z^\star\rVert_W^2,

  a contraction for :math:`0 < \eta < 2\alpha_*/\beta^2` (the certified step bound), with per-step factor
  :math:`\rho(\eta) = \sqrt{1-2\eta\alpha_*+\eta^2\beta^2}` and certified rate :math:`-\log\rho(\eta)` per step.

Two players, :math:`r = w_2/w_1`: :math:`C` is positive definite iff :math:`4r\mu_1\mu_2 > (L_{12} + rL_{21})^2`,
the **timescale band**

.. math:: r_\pm = \frac{2\mu_1\mu_2 - L_{12}L_{21} \pm 2\sqrt{\mu_1\mu_2(\mu_1\mu_2 - L_{12}L_{21})}}{L_{21}^2},

non-empty iff the small-gain condition :math:`L_{12}L_{21} < \mu_1\mu_2` holds (with a target margin α, replace
μ_i by μ_i − α). The flow margin is :math:`\tfrac{\mu_1+\mu_2}2 - \sqrt{(\tfrac{\mu_1-\mu_2}2)^2 + c(r)^2}`,
:math:`c(r) = (L_{12}+rL_{21})/(2\sqrt r)`, largest at the balanced ratio :math:`r = L_{12}/L_{21}`; the Euler rate at a
given step is maximized over r by a 1-D search (:func:`certify`), as the paper optimizes the weights.

Registered prediction ``small_gain_nash``: on ``general_sum_quadratic_game`` with simultaneous gradient play at
step η, the bound :math:`\mathbb E\lVert z_0\rVert_W\,\rho(\eta)^t` (with :math:`\mathbb E\lVert z_0\rVert_W \le
\text{init\_scale}\sqrt{1+r}`) on the problem's ``weighted_distance`` at ``metric_ratio`` r.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar

from descentlab.params import Param
from descentlab.theory.registry import register_prediction

REFERENCE = "Sharma. Small-Gain Nash: Certified Contraction to Nash Equilibria in Differentiable Games (2512.06791)"


def _blocks(sizes: tuple[int, ...]) -> list[slice]:
    edges = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    return [slice(int(a), int(b)) for a, b in itertools.pairwise(edges)]


def _sym(m: np.ndarray) -> np.ndarray:
    return 0.5 * (m + m.T)


def block_bounds(jac: np.ndarray, sizes: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(μ, L): μ_i = λ_min(sym J_ii) and L_ij = ‖J_ij‖₂ (L_ii = 0), exact for a quadratic game."""
    jac = np.asarray(jac, np.float64)
    blocks = _blocks(tuple(sizes))
    n = len(blocks)
    mu = np.array([np.linalg.eigvalsh(_sym(jac[b, b]))[0] for b in blocks])
    lip = np.zeros((n, n))
    for i, bi in enumerate(blocks):
        for j, bj in enumerate(blocks):
            if i != j:
                lip[i, j] = np.linalg.norm(jac[bi, bj], 2)
    return mu, lip


def sgn_matrix(mu: np.ndarray, lip: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """C(w): C_ii = 2 w_i μ_i, C_ij = −(w_i L_ij + w_j L_ji)."""
    w = np.asarray(weights, np.float64)
    lip = np.asarray(lip, np.float64)
    c = -(w[:, None] * lip + (w[:, None] * lip).T)
    np.fill_diagonal(c, 2.0 * w * np.asarray(mu, np.float64))
    return c


def sgn_margin(mu: np.ndarray, lip: np.ndarray, weights: np.ndarray) -> float:
    """α_*(w) = ½ λ_min(D^{-1/2} C(w) D^{-1/2}): the certified strong-monotonicity modulus in ‖·‖_W."""
    scale = 1.0 / np.sqrt(np.asarray(weights, np.float64))
    return 0.5 * float(np.linalg.eigvalsh(scale[:, None] * sgn_matrix(mu, lip, weights) * scale[None, :])[0])


def _metric_diag(sizes: tuple[int, ...], weights: np.ndarray) -> np.ndarray:
    return np.concatenate([np.full(int(s), float(w)) for s, w in zip(sizes, weights, strict=True)])


def metric_margin(jac: np.ndarray, sizes: tuple[int, ...], weights: np.ndarray) -> float:
    """α_true(w) = λ_min(W^{-1/2} sym(W J) W^{-1/2}): the exact monotonicity modulus of z ↦ Jz in ‖·‖_W."""
    w = _metric_diag(sizes, weights)
    root = np.sqrt(w)
    return float(np.linalg.eigvalsh(_sym(w[:, None] * jac) / root[:, None] / root[None, :])[0])


def euclidean_margin(jac: np.ndarray) -> float:
    """λ_min(sym J): Rosen's (Euclidean) strong-monotonicity modulus; negative when F is not monotone."""
    return float(np.linalg.eigvalsh(_sym(np.asarray(jac, np.float64)))[0])


def metric_lipschitz(jac: np.ndarray, sizes: tuple[int, ...], weights: np.ndarray) -> float:
    """β(w) = ‖W^{1/2} J W^{-1/2}‖₂: the Lipschitz constant of z ↦ Jz in ‖·‖_W."""
    root = np.sqrt(_metric_diag(sizes, weights))
    return float(np.linalg.norm(root[:, None] * jac / root[None, :], 2))


def euler_factor(margin: float, lipschitz: float, eta: float) -> float:
    """ρ(η) = √(1 − 2ηα + η²β²): the certified per-step factor of ‖z − z*‖_W (≥ 1: nothing certified)."""
    return math.sqrt(max(1.0 - 2.0 * eta * margin + (eta * lipschitz) ** 2, 0.0))


def euler_step_bound(margin: float, lipschitz: float) -> float:
    """2α/β²: the largest certified Euler step (0 when the margin is not positive)."""
    return 2.0 * margin / lipschitz**2 if margin > 0 else 0.0


def timescale_band(mu1: float, mu2: float, l12: float, l21: float, margin: float = 0.0) -> tuple[float, float]:
    """(r₋, r₊): the ratios r = w₂/w₁ with α_*(1, r) > ``margin``; (nan, nan) when the band is empty."""
    m1, m2 = mu1 - margin, mu2 - margin
    det = m1 * m2 - l12 * l21
    if m1 <= 0 or m2 <= 0 or det <= 0:
        return (math.nan, math.nan)
    if l21 == 0:
        return (l12**2 / (4 * m1 * m2) if l12 > 0 else 0.0, math.inf)
    base = 2 * m1 * m2 - l12 * l21
    radical = 2 * math.sqrt(m1 * m2 * det)
    return ((base - radical) / l21**2, (base + radical) / l21**2)


def balanced_margin(mu1: float, mu2: float, l12: float, l21: float) -> float:
    """max_r α_*(1, r) = (μ₁+μ₂)/2 − √(((μ₁−μ₂)/2)² + L₁₂L₂₁), at r = L₁₂/L₂₁."""
    return 0.5 * (mu1 + mu2) - math.sqrt((0.5 * (mu1 - mu2)) ** 2 + l12 * l21)


@dataclasses.dataclass(frozen=True)
class Certificate:
    """The SGN certificate of a two-player linear game for Euler steps η, at weights (1, ``ratio``).

    ``margin`` α_*, ``true_margin`` α_true ≥ α_*, ``lipschitz`` β (all in ‖·‖_W), ``factor`` ρ(η),
    ``rate`` = −log ρ per step (≤ 0: not certified), ``step_bound`` 2α_*/β², the flow ``band`` (r₋, r₊) and
    ``euclidean`` λ_min(sym J)."""

    ratio: float
    margin: float
    true_margin: float
    lipschitz: float
    factor: float
    rate: float
    step_bound: float
    band: tuple[float, float]
    euclidean: float

    @property
    def certified(self) -> bool:
        return self.margin > 0 and self.factor < 1.0


def certificate_at(jac: np.ndarray, sizes: tuple[int, int], eta: float, ratio: float) -> Certificate:
    """The certificate at weights (1, ``ratio``)."""
    mu, lip = block_bounds(jac, sizes)
    w = np.array([1.0, float(ratio)])
    alpha = sgn_margin(mu, lip, w)
    beta = metric_lipschitz(jac, sizes, w)
    factor = euler_factor(alpha, beta, eta)
    return Certificate(
        ratio=float(ratio),
        margin=alpha,
        true_margin=metric_margin(jac, sizes, w),
        lipschitz=beta,
        factor=factor,
        rate=-math.log(factor) if factor > 0 else math.inf,
        step_bound=euler_step_bound(alpha, beta),
        band=timescale_band(mu[0], mu[1], lip[0, 1], lip[1, 0]),
        euclidean=euclidean_margin(jac),
    )


def best_ratio(jac: np.ndarray, sizes: tuple[int, int], eta: float) -> float:
    """The ratio r = w₂/w₁ minimizing the certified Euler factor ρ(η) (bounded 1-D search on log r over the
    flow band; the balanced ratio L₁₂/L₂₁ when the band is empty or η = 0)."""
    mu, lip = block_bounds(jac, sizes)
    lo, hi = timescale_band(mu[0], mu[1], lip[0, 1], lip[1, 0])
    balanced = lip[0, 1] / lip[1, 0] if lip[1, 0] > 0 and lip[0, 1] > 0 else 1.0
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo <= 0 or eta <= 0:
        return float(balanced)

    def objective(log_r: float) -> float:
        w = np.array([1.0, math.exp(log_r)])
        alpha = sgn_margin(mu, lip, w)
        return 1.0 - 2.0 * eta * alpha + (eta * metric_lipschitz(jac, sizes, w)) ** 2

    found = minimize_scalar(objective, bounds=(math.log(lo), math.log(hi)), method="bounded", options={"xatol": 1e-8})
    best = float(found.x)
    return math.exp(best) if objective(best) <= objective(math.log(balanced)) else float(balanced)


def certify(jac: np.ndarray, sizes: tuple[int, int], eta: float, ratio: float | None = None) -> Certificate:
    """The certificate for Euler steps η at ``ratio`` (optimized by :func:`best_ratio` when None)."""
    return certificate_at(jac, sizes, eta, best_ratio(jac, sizes, eta) if ratio is None else ratio)


def certified_step_bound(jac: np.ndarray, sizes: tuple[int, int]) -> float:
    """max_r 2α_*(r)/β(r)² over the flow band: the largest Euler step some block metric certifies."""
    mu, lip = block_bounds(jac, sizes)
    lo, hi = timescale_band(mu[0], mu[1], lip[0, 1], lip[1, 0])
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo <= 0:
        return 0.0

    def negative(log_r: float) -> float:
        w = np.array([1.0, math.exp(log_r)])
        return -euler_step_bound(sgn_margin(mu, lip, w), metric_lipschitz(jac, sizes, w))

    found = minimize_scalar(negative, bounds=(math.log(lo), math.log(hi)), method="bounded", options={"xatol": 1e-8})
    return float(-found.fun)


def game_jacobian(**fields: Any) -> np.ndarray:
    """H of ``general_sum_quadratic_game`` with these fields (others ignored), float64."""
    from descentlab.problems.general_sum_game import GeneralSumQuadraticGame

    known = GeneralSumQuadraticGame.declared_params()
    return _game_jacobian(tuple(sorted((k, v) for k, v in fields.items() if k in known))).copy()


@functools.lru_cache(maxsize=128)
def _game_jacobian(items: tuple) -> np.ndarray:
    import jax

    from descentlab.problems.general_sum_game import GeneralSumQuadraticGame

    with jax.enable_x64(True):
        return np.asarray(GeneralSumQuadraticGame(**dict(items)).field_matrix(), np.float64)


_PARAMS = {
    "dim": Param("int", 4, "dimension of x and of y", low=1),
    "mu_x": Param("float", 1.0, "μₓ", low=0.0, low_open=True),
    "mu_y": Param("float", 1.0, "μᵧ", low=0.0, low_open=True),
    "coupling_x": Param("float", 1.0, "a (player 1's coupling)"),
    "coupling_y": Param("float", -1.0, "b (player 2's coupling)"),
    "condition_number": Param("float", 1.0, "κ of A", low=1.0),
    "matrix_seed": Param("int", 0, "seed of A's singular vectors", low=0),
    "init_scale": Param("float", 1.0, "x₀, y₀ ~ init_scale · N(0, I/d)", low=0.0),
    "metric_ratio": Param("float", 1.0, "r = w₂/w₁ of the weighted distance", low=0.0, low_open=True),
    "learning_rate": Param("float", 0.1, "η of simultaneous gradient play", low=0.0, low_open=True),
    "grad_noise": Param("float", 0.0, "must be 0: the certificate is for the exact field", low=0.0, high=0.0),
}


@register_prediction(
    "small_gain_nash",
    _PARAMS,
    "SGN bound on the block-weighted distance to Nash of simultaneous gradient play: E‖z₀‖_W · ρ(η)^t",
    REFERENCE,
    kind="bound",
    problem="general_sum_quadratic_game",
    metrics={"weighted_distance": "weighted_distance"},
)
def predict_small_gain_nash(steps: np.ndarray, **p: Any) -> dict[str, np.ndarray]:
    """``weighted_distance``: init_scale·√(1+r)·ρ(η)^t; ``factor``: ρ(η); ``margin``: α_*(1, r)."""
    jac = game_jacobian(**p)
    d = int(p["dim"])
    cert = certificate_at(jac, (d, d), p["learning_rate"], p["metric_ratio"])
    start = p["init_scale"] * math.sqrt(1.0 + p["metric_ratio"])
    with np.errstate(over="ignore"):
        bound = start * cert.factor ** steps.astype(np.float64)
    return {
        "weighted_distance": bound,
        "factor": np.full(steps.shape, cert.factor),
        "margin": np.full(steps.shape, cert.margin),
    }
