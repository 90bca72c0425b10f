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
* **Idealized exact line search**: each step takes the γ that minimises the next expected risk,
  :math:`\gamma_t = \sum_i\lambda_i^2v_i \big/
  \big((1+\tfrac1b)\sum_i\lambda_i^3v_i + \tfrac1b\,g\sum_i\lambda_i^2\big)`
  (→ :math:`b\sum\lambda_i^2v_i/(g\sum\lambda_i^2)` as :math:`\lambda_{\max}\to0`, the ODE's greedy rate).

Reference: Collins-Woodfin, Seroussi, Garcia Malaxechebarria, Mackenzie, Paquette, Paquette,
*The High Line: Exact Risk and Learning Rate Curves of Stochastic Adaptive Learning Rate
Algorithms* (2405.19585); Ward, Wu, Bottou, *AdaGrad stepsizes* (1806.01811).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

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

    _, (risk, gamma) = jax.lax.scan(step, (a0, b0_sq), n_steps_dummy)
    return risk, gamma


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


def adagrad_norm_curves(lam: np.ndarray, v0: np.ndarray, steps: np.ndarray, learning_rate: float, b0: float,
                        batch_size: int = 1, noise: float = 0.0) -> dict[str, np.ndarray]:
    """Risk and AdaGrad-Norm learning rate γ_t on ``steps`` (deterministic equivalent)."""
    n = int(np.max(steps))
    sigma2 = float(noise) ** 2
    with jax.enable_x64(True):
        risk, gamma = _scan_adagrad_norm(jnp.asarray(lam), jnp.asarray(v0), float(learning_rate), float(b0) ** 2,
                                         1.0 / batch_size, sigma2, jnp.zeros(n))
        return _on_grid(0.5 * (float(np.dot(lam, v0)) + sigma2), risk, gamma, steps)


def line_search_curves(lam: np.ndarray, v0: np.ndarray, steps: np.ndarray, batch_size: int = 1,
                       noise: float = 0.0) -> dict[str, np.ndarray]:
    """Risk and the greedy (exact line search) learning rate on ``steps``."""
    n = int(np.max(steps))
    sigma2 = float(noise) ** 2
    with jax.enable_x64(True):
        risk, gamma = _scan_line_search(jnp.asarray(lam), jnp.asarray(v0), 1.0 / batch_size, sigma2, jnp.zeros(n))
        return _on_grid(0.5 * (float(np.dot(lam, v0)) + sigma2), risk, gamma, steps)


def adagrad_norm_limit_closed_form(lam: np.ndarray, v0: np.ndarray, learning_rate: float, b0: float,
                                   batch_size: int = 1) -> float:
    """γ∞ ≈ η / (b₀ + tr(K)‖θ₀ − θ*‖²/(4bη)) (noiseless targets, small-step limit)."""
    return float(learning_rate / (b0 + np.sum(lam) * np.sum(v0) / (4.0 * batch_size * learning_rate)))


ADAGRAD = {
    "learning_rate": Param("float", 1.0, "η of AdaGrad-Norm", low=0.0, low_open=True),
    "b0": Param("float", 1e-2, "initial accumulator b₀", low=0.0, low_open=True),
    "batch_size": Param("int", 1, "batch size b", low=1),
}


@register_prediction("adagrad_norm_least_squares", {**PROBLEM_PARAMS, **ADAGRAD},
                     "AdaGrad-Norm on streaming least squares: coupled risk and learning-rate curves",
                     REFERENCE, kind="limit", problem="least_squares", metrics={"risk": "population_risk"})
def predict_adagrad_norm(steps: np.ndarray, **p: Any) -> dict[str, np.ndarray]:
    lam, v0 = problem_arrays(p)
    out = adagrad_norm_curves(lam, v0, steps, p["learning_rate"], p["b0"], p["batch_size"], p["noise"])
    limit = adagrad_norm_limit_closed_form(lam, v0, p["learning_rate"], p["b0"], p["batch_size"])
    out["limit_learning_rate_closed_form"] = np.full(steps.shape, limit)
    return out


@register_prediction("line_search_least_squares", {**PROBLEM_PARAMS, "batch_size": ADAGRAD["batch_size"]},
                     "Idealized exact line search on streaming least squares: risk and learning-rate curves",
                     REFERENCE, kind="limit", problem="least_squares", metrics={"risk": "population_risk"})
def predict_line_search(steps: np.ndarray, **p: Any) -> dict[str, np.ndarray]:
    lam, v0 = problem_arrays(p)
    return line_search_curves(lam, v0, steps, p["batch_size"], p["noise"])
