r"""Adaptive step sizes on streaming least squares ("the high line"): AdaGrad-Norm and exact line search.

Risk and learning rate are coupled: the learning rate is a functional of the risk history, and in
high dimensions both concentrate on deterministic curves. We integrate the coupled system on the
exact second-moment recursion of :mod:`descentlab.theory.sgd_exact` (per-coordinate
:math:`v_i = E e_i^2`, :math:`g = \sum_j\lambda_jv_j+\sigma^2 = 2\mathcal R`), with the expected squared
gradient norm

.. math:: E\|g_t\|^2 = (1+\tfrac1b)\sum_i\lambda_i^2v_i + \tfrac1b\operatorname{tr}(K)\,g .

* **AdaGrad-Norm** (the optimizer ``adagrad_norm``: :math:`b_{t+1}^2=b_t^2+\|g_t\|^2`,
  :math:`\gamma_t=\eta/b_{t+1}`): :math:`\gamma_t=\eta/\sqrt{b_0^2+\sum_{s\le t}E\|g_s\|^2}`.
  For noiseless targets the sum converges and :math:`\gamma_t\to\gamma_\infty>0`. In the small-step
  limit (gradient flow in the intrinsic time :math:`\Gamma=\int\gamma`),
  :math:`\frac{d}{d\Gamma}\sqrt{b^2} = \operatorname{tr}(K)\,\mathcal R/(b\eta)` and
  :math:`\int_0^\infty\mathcal R\,d\Gamma = \tfrac14\|\theta_0-\theta^\star\|^2`, so

  .. math:: \gamma_\infty \approx \frac{\eta}{b_0 + \operatorname{tr}(K)\,\|\theta_0-\theta^\star\|^2/(4b\eta)}
     \approx \frac{4b\eta^2}{d\,\bar\lambda\,\|\theta_0-\theta^\star\|^2}

  — inversely proportional to the average eigenvalue :math:`\bar\lambda=\operatorname{tr}(K)/d` at fixed
  :math:`\|\theta_0-\theta^\star\|` (:func:`adagrad_norm_limit_closed_form`; the coupled recursion keeps the
  SGD-noise correction that the closed form drops).

  **The limit with the SGD noise kept** (:func:`adagrad_norm_limit_from_state`). Per step the recursion
  conserves an exact identity: with :math:`D=\sum_iv_i=E\|e\|^2`, the accumulator :math:`s=b_t^2` and
  :math:`g=2\mathcal R` (b without index is the batch size),
  :math:`\Delta D_t=-2\gamma_tg_t+\gamma_t^2\Delta s_t`; once :math:`\sum\lambda_i^2v_i\ll\operatorname{tr}(K)g`
  (high dimension) :math:`g_t = b\,\Delta s_t/\operatorname{tr}K`, and with :math:`\gamma=\eta/\sqrt s` the sums
  integrate in closed form: from any state :math:`(D_\tau, b_\tau)`,

  .. math:: \frac{4b\eta}{\operatorname{tr}K}(b_\infty-b_\tau)-2\eta^2\ln\frac{b_\infty}{b_\tau}
     = D_\tau - D_\infty ,\qquad \gamma_\infty=\eta/b_\infty ,

  :math:`D_\infty` the part of :math:`D` in the kernel of K (never learned; the noise term
  :math:`\gamma^2\lambda_i g/b` vanishes there too). Dropping the logarithm (the SGD noise) gives the
  small-step form above. The integral replaces the sums only while :math:`\Delta s_t\ll s_t`, which fails
  in the first steps (:math:`b_0\ll\|g_0\|`, and :math:`\gamma_0\operatorname{tr}K` may exceed 2): applied
  from t = 0 it is off by 2–4 % at d = 100 (and −1 % at d = 2000 with η = 0.2√d); applied from the
  recursion's state at a horizon τ where the learning rate has nearly settled, it agrees with the
  recursion run to 10⁶ steps to 10⁻⁴ (τ = 3000, d = 100). :func:`adagrad_norm_curves` reports it, from
  the state at the last step of the grid, as ``limit_learning_rate``.

  **Power-law phase transition** (:func:`adagrad_norm_power_law_exponent`). :math:`\gamma_\infty>0` needs
  :math:`\int_0^\infty\mathcal R\,d\Gamma = \tfrac14\|\theta_0-\theta^\star\|^2<\infty` in the high-dimensional
  limit. With :math:`\lambda_i\propto i^{-\alpha}` and :math:`v_i(0)\propto i^{-\beta}` (the ``power_law``
  spectrum and teacher), :math:`\alpha+\beta>1`, gradient flow gives
  :math:`\mathcal R(\Gamma)\propto\Gamma^{-\kappa}`, :math:`\kappa=(\alpha+\beta-1)/\alpha`, on
  :math:`1/\lambda_{\max}\ll\Gamma\ll1/\lambda_{\min}`. If β > 1 (κ > 1) the integral converges and γ_t → γ∞ > 0;
  if β < 1 (κ < 1) it diverges, :math:`b\propto\int_0^\Gamma\mathcal R\propto\Gamma^{1-\kappa}`, and with
  :math:`d\Gamma/dt=\eta/b`: :math:`\Gamma\propto t^{1/(2-\kappa)}`, so

  .. math:: \gamma_t\propto t^{-(1-\kappa)/(2-\kappa)} = t^{-(1-\beta)/(1+\alpha-\beta)} .

  In terms of the density of the initial distance over eigenvalues, :math:`\sum_iv_i\delta_{\lambda_i}\sim
  \lambda^{-s}d\lambda` near 0 with :math:`s=(1+\alpha-\beta)/\alpha`: γ∞ > 0 for s < 1, and
  :math:`\gamma_t\propto t^{-1+1/s}` for 1 < s < 2 (the phase transition of the paper's abstract; its
  statement could not be read in the stored copy, so this is our derivation from its ODE, checked against
  the recursion in ``tests/theory``).
* **Idealized exact line search**: each step takes the γ that minimises the next expected risk,
  :math:`\gamma_t = \sum_i\lambda_i^2v_i \big/
  \big((1+\tfrac1b)\sum_i\lambda_i^3v_i + \tfrac1b\,g\sum_i\lambda_i^2\big)`
  (→ :math:`b\sum\lambda_i^2v_i/(g\sum\lambda_i^2)` as :math:`\lambda_{\max}\to0`, the ODE's greedy rate).

  **Its limit for two eigenvalues** (:func:`line_search_two_level_limit`). Noiseless, in the high-dimensional
  limit (the greedy rate above, :math:`\lambda\propto1/d`): K has eigenvalue :math:`\lambda_1` on a fraction
  :math:`p_1` of the coordinates and :math:`\lambda_2<\lambda_1` on :math:`p_2=1-p_1`; with the group totals
  :math:`V_k=\sum_{i\in k}v_i`, :math:`dV_k/dt=-2\gamma\lambda_kV_k+\gamma^2\lambda_k\,dp_k\,g/b` and
  :math:`\gamma=b(\lambda_1^2V_1+\lambda_2^2V_2)/(g\sum_i\lambda_i^2)`. Both groups decay at one rate in the
  limit, so the ratio :math:`r=V_1/V_2` settles where :math:`\frac{d}{dt}\ln V_1=\frac{d}{dt}\ln V_2`:

  .. math:: -\lambda_1^2\lambda_2p_2\,r^2+\big[2(\lambda_2-\lambda_1)(p_1\lambda_1^2+p_2\lambda_2^2)
     +\lambda_1^3p_1-\lambda_2^3p_2\big]\,r+\lambda_1\lambda_2^2p_1=0 ,

  whose one positive root gives :math:`\gamma_\infty=\frac{b}{d}\,
  \frac{\lambda_1^2r+\lambda_2^2}{(\lambda_1r+\lambda_2)(p_1\lambda_1^2+p_2\lambda_2^2)}` — between
  :math:`b\lambda_2/\sum\lambda_i^2` and :math:`b\lambda_1/\sum\lambda_i^2`, so with tr K fixed it falls like the
  eigenvalue ratio :math:`\lambda_2/\lambda_1` while the best fixed step stays O(b/tr K): line search is
  arbitrarily slower as the spread grows. (The paper characterizes this limit exactly; its statement could not
  be read in the stored copy, so this is our derivation from its ODE. The finite-d recursion reaches
  :math:`\gamma_\infty(1+O(1/d))`: −0.65 % at d = 100 and −0.32 % at d = 200 for :math:`\lambda_2/\lambda_1=1/8`,
  −1.3 % at d = 100 for 1/4, checked in ``tests/theory``.)

Reference: Collins-Woodfin, Seroussi, Garcia Malaxechebarria, Mackenzie, Paquette, Paquette,
*The High Line: Exact Risk and Learning Rate Curves of Stochastic Adaptive Learning Rate
Algorithms* (2405.19585); Ward, Wu, Bottou, *AdaGrad stepsizes* (1806.01811).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from scipy.optimize import brentq

from descentlab.params import Param
from descentlab.theory._least_squares import PROBLEM_PARAMS, problem_arrays
from descentlab.theory.registry import register_prediction

REFERENCE = "Collins-Woodfin et al. The High Line (2405.19585)"


@jax.jit
def _scan_adagrad_norm(lam, a0, eta, b0_sq, inv_b, sigma2, n_steps_dummy):
    tr_k = jnp.sum(lam)
    quad = (1.0 + inv_b) * lam**2

    def step(carry, _):
        a, s = carry
        g = jnp.dot(lam, a) + sigma2
        s = s + jnp.dot(quad, a) + inv_b * tr_k * g
        gamma = eta / jnp.sqrt(s)
        a = a * (1.0 - 2.0 * gamma * lam + gamma**2 * quad) + (gamma**2 * inv_b * g) * lam
        return (a, s), (0.5 * (jnp.dot(lam, a) + sigma2), gamma)

    (a, s), (risk, gamma) = jax.lax.scan(step, (a0, b0_sq), n_steps_dummy)
    return risk, gamma, a, s


@jax.jit
def _scan_line_search(lam, a0, inv_b, sigma2, n_steps_dummy):
    quad = (1.0 + inv_b) * lam**2
    sum_sq = jnp.sum(lam**2)

    def step(a, _):
        g = jnp.dot(lam, a) + sigma2
        gamma = jnp.dot(lam**2, a) / (jnp.dot(lam * quad, a) + inv_b * g * sum_sq)
        a = a * (1.0 - 2.0 * gamma * lam + gamma**2 * quad) + (gamma**2 * inv_b * g) * lam
        return a, (0.5 * (jnp.dot(lam, a) + sigma2), gamma)

    _, (risk, gamma) = jax.lax.scan(step, a0, n_steps_dummy)
    return risk, gamma


def _on_grid(r0: float, risk, gamma, steps: np.ndarray) -> dict[str, np.ndarray]:
    risk = np.concatenate([[r0], np.asarray(risk, dtype=np.float64)])
    gamma = np.asarray(gamma, dtype=np.float64)
    # the learning rate recorded at step t is the one the next update uses (γ_t); at the end, the last one
    gamma = np.concatenate([gamma, gamma[-1:]]) if gamma.size else np.array([np.nan])
    return {"risk": risk[steps], "learning_rate": gamma[np.minimum(steps, gamma.size - 1)]}


def adagrad_norm_curves(
    lam: np.ndarray,
    v0: np.ndarray,
    steps: np.ndarray,
    learning_rate: float,
    b0: float,
    batch_size: int = 1,
    noise: float = 0.0,
) -> dict[str, np.ndarray]:
    """Risk and AdaGrad-Norm learning rate γ_t on ``steps`` (deterministic equivalent), and γ∞
    (``limit_learning_rate``: the conserved quantity from the state at the last step; 0 with label noise,
    where the accumulator grows without bound)."""
    n = int(np.max(steps))
    sigma2 = float(noise) ** 2
    with jax.enable_x64(True):
        risk, gamma, v, b_sq = _scan_adagrad_norm(
            jnp.asarray(lam),
            jnp.asarray(v0),
            float(learning_rate),
            float(b0) ** 2,
            1.0 / batch_size,
            sigma2,
            jnp.zeros(n),
        )
        out = _on_grid(0.5 * (float(np.dot(lam, v0)) + sigma2), risk, gamma, steps)
    limit = (
        adagrad_norm_limit_from_state(lam, np.asarray(v, dtype=np.float64), float(b_sq), learning_rate, batch_size)
        if noise == 0.0
        else 0.0
    )
    out["limit_learning_rate"] = np.full(np.shape(steps), limit)
    return out


def line_search_curves(
    lam: np.ndarray, v0: np.ndarray, steps: np.ndarray, batch_size: int = 1, noise: float = 0.0
) -> dict[str, np.ndarray]:
    """Risk and the greedy (exact line search) learning rate on ``steps``."""
    n = int(np.max(steps))
    sigma2 = float(noise) ** 2
    with jax.enable_x64(True):
        risk, gamma = _scan_line_search(jnp.asarray(lam), jnp.asarray(v0), 1.0 / batch_size, sigma2, jnp.zeros(n))
        return _on_grid(0.5 * (float(np.dot(lam, v0)) + sigma2), risk, gamma, steps)


def line_search_two_level_limit(lam: np.ndarray, batch_size: int = 1) -> float:
    """γ∞ of the idealized exact line search (noiseless, high-dimensional limit) for a spectrum ``lam`` with exactly
    two distinct positive values (the positive root of the ratio equation in the module docstring).

    Raises ValueError unless ``lam`` has exactly two distinct values, both positive."""
    lam = np.asarray(lam, dtype=np.float64)
    values = np.unique(lam)
    if values.size != 2 or values[0] <= 0.0:
        raise ValueError(f"needs exactly two distinct positive eigenvalues, got {values.size}: {values[:4]}")
    lam2, lam1 = float(values[0]), float(values[1])
    p1 = float(np.mean(lam == lam1))
    p2 = 1.0 - p1
    mean_sq = p1 * lam1**2 + p2 * lam2**2
    a = -(lam1**2) * lam2 * p2
    b = 2.0 * (lam2 - lam1) * mean_sq + lam1**3 * p1 - lam2**3 * p2
    c = lam1 * lam2**2 * p1
    r = (-b - np.sqrt(b * b - 4.0 * a * c)) / (2.0 * a)  # a < 0 < c: the one positive root
    return float(batch_size * (lam1**2 * r + lam2**2) / ((lam1 * r + lam2) * mean_sq * lam.size))


def adagrad_norm_limit_closed_form(
    lam: np.ndarray, v0: np.ndarray, learning_rate: float, b0: float, batch_size: int = 1
) -> float:
    """γ∞ ≈ η / (b₀ + tr(K)‖θ₀ − θ*‖²/(4bη)) (noiseless targets, small-step limit)."""
    return float(learning_rate / (b0 + np.sum(lam) * np.sum(v0) / (4.0 * batch_size * learning_rate)))


def adagrad_norm_limit_from_state(
    lam: np.ndarray, v: np.ndarray, b_sq: float, learning_rate: float, batch_size: int = 1
) -> float:
    r"""γ∞ = η/b∞ from the state (v = E e², b² = s) of the noiseless recursion: the root b∞ ≥ b of

    .. math:: \frac{4B\eta}{\operatorname{tr}K}(b_\infty-b)-2\eta^2\ln\frac{b_\infty}{b}=\sum_{\lambda_i>0}v_i

    (the high line's conserved quantity, SGD noise kept; B the batch size). The left side increases once
    :math:`\gamma\operatorname{tr}K<2B`, so the root on that branch is unique."""
    tr_k, eta, b = float(np.sum(lam)), float(learning_rate), float(np.sqrt(b_sq))
    remaining = float(np.sum(v[lam > 0]))
    if remaining <= 0.0:
        return eta / b

    def excess(b_inf: float) -> float:
        return 4.0 * batch_size * eta / tr_k * (b_inf - b) - 2.0 * eta**2 * np.log(b_inf / b) - remaining

    low = max(b, eta * tr_k / (2.0 * batch_size))
    high = 2.0 * low
    while excess(high) < 0.0:
        high *= 2.0
    return eta / float(brentq(excess, low, high, xtol=1e-14 * high, rtol=1e-14))


def adagrad_norm_power_law_exponent(alpha: float, beta: float) -> float:
    r"""The exponent p of :math:`\gamma_t\propto t^{p}` for λ_i ∝ i^-α, v_i(0) ∝ i^-β (noiseless, high-dimensional
    window :math:`1/\lambda_{\max}\ll\Gamma\ll1/\lambda_{\min}`): 0 for β > 1 (γ∞ > 0), −(1−β)/(1+α−β) for β < 1.

    Raises ValueError outside the two phases (α + β ≤ 1: the risk is not a decaying power law; β = 1: the
    boundary, logarithmic)."""
    if alpha <= 0.0 or alpha + beta <= 1.0 or beta == 1.0:
        raise ValueError(
            f"no power-law phase for alpha={alpha}, beta={beta}: needs alpha > 0, alpha + beta > 1, beta != 1"
        )
    return 0.0 if beta > 1.0 else -(1.0 - beta) / (1.0 + alpha - beta)


ADAGRAD = {
    "learning_rate": Param("float", 1.0, "η of AdaGrad-Norm", low=0.0, low_open=True),
    "b0": Param("float", 1e-2, "initial accumulator b₀", low=0.0, low_open=True),
    "batch_size": Param("int", 1, "batch size b", low=1),
}


@register_prediction(
    "adagrad_norm_least_squares",
    {**PROBLEM_PARAMS, **ADAGRAD},
    "AdaGrad-Norm on streaming least squares: coupled risk and learning-rate curves",
    REFERENCE,
    kind="limit",
    problem="least_squares",
    metrics={"risk": "population_risk"},
)
def predict_adagrad_norm(steps: np.ndarray, **p: Any) -> dict[str, np.ndarray]:
    lam, v0 = problem_arrays(p)
    out = adagrad_norm_curves(lam, v0, steps, p["learning_rate"], p["b0"], p["batch_size"], p["noise"])
    limit = adagrad_norm_limit_closed_form(lam, v0, p["learning_rate"], p["b0"], p["batch_size"])
    out["limit_learning_rate_closed_form"] = np.full(steps.shape, limit)
    return out


@register_prediction(
    "line_search_least_squares",
    {**PROBLEM_PARAMS, "batch_size": ADAGRAD["batch_size"]},
    "Idealized exact line search on streaming least squares: risk and learning-rate curves",
    REFERENCE,
    kind="limit",
    problem="least_squares",
    metrics={"risk": "population_risk"},
)
def predict_line_search(steps: np.ndarray, **p: Any) -> dict[str, np.ndarray]:
    lam, v0 = problem_arrays(p)
    return line_search_curves(lam, v0, steps, p["batch_size"], p["noise"])
