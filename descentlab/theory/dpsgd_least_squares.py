r"""DP-SGD with per-example clipping on streaming least squares: deterministic equivalent with clipping factors.

Update (the ``dpsgd`` optimizer's convention, Abadi et al.):
:math:`\theta\leftarrow\theta-\eta_t\frac1b\big(\sum_j g_j\min(1, C/\|g_j\|) + \sigma_p C\,\xi\big)`,
:math:`g_j = x_j(x_j^\top\theta-y_j)`, :math:`\xi\sim\mathcal N(0,I)`; data and conventions of
:mod:`descentlab.problems.least_squares`. With :math:`e=\theta-\theta^\star` the residual
:math:`r = x^\top e-\sigma\varepsilon\sim\mathcal N(0, s^2)`, :math:`s^2 = e^\top Ke+\sigma^2 = 2\mathcal R`,
and in high dimension :math:`\|x\|^2\to\operatorname{tr}K`, so a clipped gradient is :math:`x\,\psi(r)` with
:math:`\psi(r) = r\min(1, c/|r|)`, :math:`c = C/\sqrt{\operatorname{tr}K}` — a Huber-type score. By Gaussian
integration by parts its mean is :math:`\mu_c\,Ke` with the **effective clipping factor**

.. math:: \mu_c = E\,\psi'(r) = P(|r|\le c) = \operatorname{erf}\!\big(c/\sqrt{2}s\big),

and its second moment :math:`E[x_i^2\psi^2] = \lambda_i\,E\psi^2 + \lambda_i^2 v_i\,(E[r^2\psi^2]/s^4 - E\psi^2/s^2)`
(exact for Gaussian x given r's law), where :math:`\nu_c = E\psi^2/\mathcal R` is the effective noise factor
(= 2 without clipping). The per-coordinate second moments :math:`v_i = Ee_i^2` then follow

.. math::
   v_i' = v_i\big(1-2\eta\mu_c\lambda_i + \eta^2(1-\tfrac1b)\mu_c^2\lambda_i^2\big)
        + \frac{\eta^2}{b}\Big[\lambda_i E\psi^2
        + \lambda_i^2v_i\big(\tfrac{E[r^2\psi^2]}{s^4}-\tfrac{E\psi^2}{s^2}\big)\Big]
        + \frac{\eta^2\sigma_p^2C^2}{b^2},

which for C → ∞ is exactly the SGD recursion of :mod:`descentlab.theory.sgd_exact`. This is the
homogenized DP-SGD of Bombari, Seroussi & Mondelli with the norm concentrated at :math:`\sqrt{\operatorname{tr}K}`;
their upper and lower ODE bounds for anisotropic data meet it for isotropic data (the bounds
themselves are not implemented here). Integrated one step at a time (``lax.scan``, O(d) a step).

Reference: Bombari, Seroussi, Mondelli, *Better Rates for Private Linear Regression in the
Proportional Regime via Aggressive Clipping* (2505.16329); Abadi et al., *Deep Learning with
Differential Privacy* (1607.00133).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import erf

from descentlab.params import Param
from descentlab.theory._least_squares import OPTIMIZER_PARAMS, PROBLEM_PARAMS, learning_rates, problem_arrays
from descentlab.theory.registry import register_prediction


def clipping_moments(s, c):
    """(μ_c = Eψ', Eψ², E r²ψ²) for r ~ N(0, s²), ψ(r) = r·min(1, c/|r|)."""
    u = c / s
    phi = jnp.exp(-0.5 * u**2) / jnp.sqrt(2.0 * jnp.pi)
    inside = erf(u / jnp.sqrt(2.0))  # P(|r| ≤ c)
    outside = 1.0 - inside
    e_psi2 = s**2 * (inside - 2.0 * u * phi) + c**2 * outside
    e_r2psi2 = s**4 * (3.0 * inside - 2.0 * phi * (u**3 + 3.0 * u)) + c**2 * s**2 * (outside + 2.0 * u * phi)
    return inside, e_psi2, e_r2psi2


@jax.jit
def _scan_dpsgd(lam, a0, etas, inv_b, sigma2, clip, noise_multiplier):
    c = clip / jnp.sqrt(jnp.sum(lam))

    def observe(a):
        s2 = jnp.dot(lam, a) + sigma2
        mu_c, e_psi2, e_r2psi2 = clipping_moments(jnp.sqrt(s2), c)
        return s2, mu_c, e_psi2, e_r2psi2

    def step(a, eta):
        s2, mu_c, e_psi2, e_r2psi2 = observe(a)
        second = lam * e_psi2 + lam**2 * a * (e_r2psi2 / s2**2 - e_psi2 / s2)
        new = (a * (1.0 - 2.0 * eta * mu_c * lam + eta**2 * (1.0 - inv_b) * mu_c**2 * lam**2)
               + eta**2 * inv_b * second + eta**2 * (noise_multiplier * clip * inv_b) ** 2)
        return new, (0.5 * s2, mu_c, e_psi2 / (0.5 * s2))

    last, (risk, mu_c, nu_c) = jax.lax.scan(step, a0, etas)
    s2, m_last, p_last, _ = observe(last)
    append = lambda xs, x: jnp.concatenate([xs, x[None]])  # noqa: E731
    return append(risk, 0.5 * s2), append(mu_c, m_last), append(nu_c, p_last / (0.5 * s2))


def dpsgd_curves(lam: np.ndarray, v0: np.ndarray, etas: np.ndarray, steps: np.ndarray, batch_size: int,
                 noise: float, clip: float, noise_multiplier: float) -> dict[str, np.ndarray]:
    """Risk, clipping factor μ_c and noise factor ν_c after each number of updates in ``steps``."""
    n = int(np.max(steps))
    with jax.enable_x64(True):
        curves = _scan_dpsgd(jnp.asarray(lam), jnp.asarray(v0), jnp.asarray(etas[:n]), 1.0 / batch_size,
                             float(noise) ** 2, float(clip), float(noise_multiplier))
        risk, mu_c, nu_c = (np.asarray(x, dtype=np.float64)[steps] for x in curves)
    return {"risk": risk, "clipping_factor": mu_c, "noise_factor": nu_c}


DP_PARAMS = {
    "l2_norm_clip": Param("float", 1.0, "per-example clipping norm C", low=0.0, low_open=True),
    "noise_multiplier": Param("float", 0.0, "σ_p: privacy noise std = σ_p·C (on the batch sum)", low=0.0),
}


@register_prediction("dpsgd_least_squares", {**PROBLEM_PARAMS, **OPTIMIZER_PARAMS, **DP_PARAMS},
                     "DP-SGD (clipping + Gaussian noise) on streaming least squares: risk and effective clipping",
                     "Bombari, Seroussi, Mondelli. Better Rates for Private Linear Regression ... (2505.16329)",
                     kind="limit", problem="least_squares", metrics={"risk": "population_risk"})
def predict_dpsgd(steps: np.ndarray, **p: Any) -> dict[str, np.ndarray]:
    lam, v0 = problem_arrays(p)
    etas = learning_rates(int(steps.max()), p)
    return dpsgd_curves(lam, v0, etas, steps, p["batch_size"], p["noise"], p["l2_norm_clip"], p["noise_multiplier"])
