r"""Learning curves of one-pass SGD in kernel regression: rate exponents and the expected risk in the eigenbasis.

Setting (Zhang, Lin, Liu, Fang, *Learning Curves of Stochastic Gradient Descent in Kernel Regression*,
arXiv 2505.22048, ICML 2025), specialised to a kernel with power-law eigenvalues: Mercer eigenvalues
:math:`\lambda_k \asymp k^{-\beta}` (capacity, β > 1) and a regression function in the interpolation space
:math:`[\mathcal H]^s` (source condition, :math:`\sum_k \lambda_k^{-s} c_k^{\star2} < \infty`; s < 1 is the
misspecified case, f* ∉ H). For :mod:`descentlab.problems.kernel_regression`, :math:`\lambda_k=(1+k)^{-b}` and
:math:`c_k^{\star2}\propto(1+k)^{-a}`, so β = b and the source exponent is the boundary value
:math:`s = (a-1)/b` (:func:`source_exponent`).

One pass of SGD over n fresh samples, :math:`f_{t+1} = f_t - \eta_t (f_t(x_t)-y_t) K_{x_t}`, with an
exponentially decaying step size is a spectral filter :math:`\prod_t(1-\eta_t\lambda_k)\approx
e^{-\lambda_k\sum_t\eta_t}` with no qualification limit, so with the initial step tuned to n its last
iterate balances bias :math:`T^{-s}` against variance :math:`\sigma^2 T^{1/\beta}/n` at
:math:`T=\sum_t\eta_t\asymp n^{\beta/(s\beta+1)}` (:func:`sgd_exponent`):

.. math:: \mathbb E\|f_n-f^\star\|_{L^2}^2 \asymp n^{-\frac{s\beta}{s\beta+1}}\quad (s \ge 1 - 1/\beta),
   \qquad n^{-s}\quad (s < 1-1/\beta),

the minimax rate for every s ≥ 1 − 1/β — no saturation as s grows. The second branch is the paper's exception
(highly misspecified): the step is bounded, :math:`T\lesssim n`, and the bias :math:`n^{-s}` dominates.
Kernel ridge regression (and constant-step SGD with iterate averaging) has qualification 2 and saturates
(:func:`krr_exponent`): :math:`n^{-\frac{\min(s,2)\beta}{\min(s,2)\beta+1}}`; for s > 2 the two differ.

The expected risk itself (:func:`expected_excess_risk`) is computed for Gaussian features in the
eigenbasis, :math:`\phi\sim\mathcal N(0,\Lambda)`: with :math:`e=\theta-\theta^\star` the diagonal second
moments :math:`A_k=\mathbb E e_k^2` close on themselves (Isserlis),
:math:`A_k' = (1-2\eta\lambda_k+2\eta^2\lambda_k^2)A_k + \eta^2\lambda_k(\sum_j\lambda_jA_j+\sigma^2)`,
excess risk :math:`\tfrac12\sum_k\lambda_kA_k` (the recursion of :mod:`descentlab.theory.sgd_exact`, here
vectorised over initial steps). It is exact for Gaussian features; for the bounded Fourier features of the
circle (fourth moment 3/2 instead of 3) it is the Gaussian equivalent, used to tune the initial step and to
measure the finite-n bias of a fitted exponent. The step schedule is the engine's ``exponential`` one,
:math:`\eta_t=\eta_0 r^{t/n}` over the horizon n.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from descentlab.params import Param
from descentlab.theory.registry import register_prediction

REFERENCE = "Zhang, Lin, Liu, Fang. Learning Curves of Stochastic Gradient Descent in Kernel Regression (2505.22048)"


def source_exponent(target_decay: float, kernel_decay: float) -> float:
    """s = (a − 1)/b: the largest s with Σ λ_k^-s c_k*² < ∞ for λ_k = (1+k)^-b, c_k*² ∝ (1+k)^-a."""
    return (float(target_decay) - 1.0) / float(kernel_decay)


def target_decay_for(source: float, kernel_decay: float) -> float:
    """a = 1 + s·b (inverse of :func:`source_exponent`)."""
    return 1.0 + float(source) * float(kernel_decay)


def minimax_exponent(source: float, capacity: float) -> float:
    """sβ/(sβ + 1): the minimax rate exponent of the excess risk."""
    return source * capacity / (source * capacity + 1.0)


def sgd_exponent(source: float, capacity: float) -> float:
    """One-pass SGD with exponentially decaying steps: min(sβ/(sβ+1), s) (no saturation in s)."""
    return min(minimax_exponent(source, capacity), source)


def krr_exponent(source: float, capacity: float, qualification: float = 2.0) -> float:
    """Kernel ridge regression (tuned ridge): min(s, 2)β/(min(s, 2)β + 1), saturated at s = 2."""
    return minimax_exponent(min(source, qualification), capacity)


def spectrum(kernel_decay: float, target_decay: float, n_modes: int) -> tuple[np.ndarray, np.ndarray]:
    """(λ, A₀) in float64 for :mod:`descentlab.problems.kernel_regression` started at θ = 0: eigenvalues of the
    1, cos kx, sin kx eigenfunctions and the initial error second moments θ*² = c*²/λ (Σ c*² = 1)."""
    frequency = np.concatenate([[0], np.repeat(np.arange(1, n_modes + 1), 2)]).astype(np.float64)
    lam = (1.0 + frequency) ** (-float(kernel_decay))
    c2 = (1.0 + frequency) ** (-float(target_decay))
    c2 /= c2.sum()
    return lam, c2 / lam


@jax.jit
def _final_risks(lam, a0, eta0s, decays, sigma2):
    """Excess risk of the last iterate for every (horizon h, initial step e): one scan over the longest horizon,
    η_t = η₀[e]·decays[t, h] (decays[t, h] = 0 once t ≥ n_h, which leaves the moments unchanged)."""

    def step(a, decay):
        eta = decay[:, None, None] * eta0s[None, :, None]
        two_r = a @ lam + sigma2
        a = a * (1.0 - 2.0 * eta * lam + 2.0 * eta**2 * lam**2) + (eta**2 * two_r[..., None]) * lam
        return a, None

    start = jnp.broadcast_to(a0, (decays.shape[1], eta0s.shape[0], a0.shape[0]))
    a, _ = jax.lax.scan(step, start, decays)
    return 0.5 * (a @ lam)


def expected_excess_risk(
    horizons: np.ndarray | list[int],
    eta0s: np.ndarray | list[float],
    kernel_decay: float,
    target_decay: float,
    n_modes: int,
    noise: float,
    decay_rate: float,
) -> np.ndarray:
    """(len(horizons), len(eta0s)) expected excess risk of the last iterate after n one-pass SGD steps with
    η_t = η₀·decay_rate^(t/n) (Gaussian features in the eigenbasis; float64; one compiled scan for all)."""
    lam, a0 = spectrum(kernel_decay, target_decay, n_modes)
    n = np.asarray([int(h) for h in horizons], dtype=np.int64)
    t = np.arange(int(n.max()), dtype=np.float64)[:, None]
    decays = np.where(t < n[None, :], float(decay_rate) ** (t / n[None, :]), 0.0)
    with jax.enable_x64(True):
        risks = _final_risks(
            jnp.asarray(lam),
            jnp.asarray(a0),
            jnp.asarray(np.asarray(eta0s, np.float64)),
            jnp.asarray(decays),
            float(noise) ** 2,
        )
        return np.asarray(risks)


def tuned_initial_step(
    horizons: np.ndarray | list[int],
    kernel_decay: float,
    target_decay: float,
    n_modes: int,
    noise: float,
    decay_rate: float,
    low: float = 1e-3,
    high: float = 1.0,
    points: int = 41,
) -> tuple[np.ndarray, np.ndarray]:
    """(η₀*, risk at η₀*) per horizon: the initial step minimising :func:`expected_excess_risk` on a log grid
    of ``points`` steps in [low, high], refined by a parabola in log η₀ through the best point and its
    neighbours."""
    grid = np.geomspace(low, high, points)
    risks = expected_excess_risk(horizons, grid, kernel_decay, target_decay, n_modes, noise, decay_rate)
    best_eta = np.empty(len(horizons))
    logs = np.log(grid)
    for i, row in enumerate(risks):
        row = np.where(np.isfinite(row), row, np.inf)
        j = int(np.argmin(row))
        eta = grid[j]
        if 0 < j < points - 1:
            y = np.log(row[j - 1 : j + 2])
            x = logs[j - 1 : j + 2]
            curvature = y[0] - 2 * y[1] + y[2]
            if curvature > 0:
                eta = float(np.exp(x[1] + 0.5 * (x[1] - x[0]) * (y[0] - y[2]) / curvature))
        best_eta[i] = eta
    best_risk = expected_excess_risk(
        horizons, best_eta, kernel_decay, target_decay, n_modes, noise, decay_rate
    ).diagonal()
    return best_eta, best_risk


@register_prediction(
    "kernel_sgd_last_iterate",
    {
        "kernel_decay": Param("float", 2.0, "b: λ_k = (1 + k)^-b", low=0.0, low_open=True),
        "target_decay": Param("float", 4.0, "a: c*_k² ∝ (1 + k)^-a", low=0.0),
        "n_modes": Param("int", 64, "M: highest frequency (2M + 1 eigenfunctions)", low=1, high=100_000),
        "noise": Param("float", 1.0, "label noise σ", low=0.0),
        "learning_rate": Param("float", 0.1, "initial step η₀", low=0.0),
        "decay_rate": Param("float", 1e-3, "η_n/η₀ (exponential schedule over the horizon)", low=0.0, high=1.0),
    },
    "Expected excess risk of the last iterate of one-pass SGD with η_t = η₀ r^(t/n), at each horizon n "
    "(Gaussian-equivalent eigenbasis recursion)",
    REFERENCE,
    kind="limit",
    problem="kernel_regression",
    metrics={"excess_risk": "excess_risk"},
)
def predict_kernel_sgd(steps: np.ndarray, **p: Any) -> dict[str, np.ndarray]:
    """``steps`` are horizons n (each its own run of n steps, schedule over n); 0 gives the initial risk."""
    horizons = [int(n) for n in steps]
    lam, a0 = spectrum(p["kernel_decay"], p["target_decay"], p["n_modes"])
    out = np.full(len(horizons), 0.5 * float(lam @ a0))
    positive = [i for i, n in enumerate(horizons) if n > 0]
    if positive:
        risks = expected_excess_risk(
            [horizons[i] for i in positive],
            [p["learning_rate"]],
            p["kernel_decay"],
            p["target_decay"],
            p["n_modes"],
            p["noise"],
            p["decay_rate"],
        )[:, 0]
        out[positive] = risks
    return {"excess_risk": out}
