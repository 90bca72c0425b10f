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

which for C → ∞ is exactly the SGD recursion of :mod:`descentlab.theory.sgd_exact`. Integrated one
step at a time (``lax.scan``, O(d) a step).

**The paper's ODE** (:func:`isotropic_ode_risk`). Bombari, Seroussi & Mondelli normalize
:math:`\operatorname{tr}\Sigma = d`, take batch 1, one pass over n = d/γ samples, step
:math:`\eta_k=\tilde\eta(k/n)/n` and time :math:`t=k/n\in[0,1]`, and describe DP-SGD by the homogenized SDE

.. math:: d\Theta=-\tilde\eta\mu_c\nabla P\,dt+\tilde\eta\sqrt{\nu_cP\Sigma/n}\,dB^s
          +\frac{\sqrt{2d}}{n}c\tilde\sigma\,dB^p.

In this package's normalization (tr K = 1, per-example noise multiplier σ_p on the gradient, step η)
the same scaling reads :math:`\eta=\tilde\eta\,d/n` (an O(1) step: the learning rate is O(1/d) in the
paper's units only because there :math:`\|x\|^2\approx d`) and :math:`\sigma_p=\sqrt2\,\tilde\sigma/(\tilde\eta\sqrt n)`
— the per-step privacy noise is O(1/√n), **not** O(1): an O(1) multiplier puts
:math:`\eta^2\sigma_p^2C^2/2` into the risk at every one of the n steps (O(n) in all) against an O(1/d)
signal per step, which is why batch-1 DP-SGD with an O(1) noise multiplier learns nothing at n/d = O(1).
For isotropic K = I/d, with :math:`q=\|e\|^2/d` (risk :math:`(q+\sigma^2)/2`, :math:`s^2=q+\sigma^2`) the
expected-risk ODE is

.. math:: \frac{dq}{dt} = -2\tilde\eta\,\mu_c(s)\,q + \gamma\,\tilde\eta^2\,E\psi^2(s)
          + n\,\eta^2\sigma_p^2C^2, \qquad \gamma = d/n,

(the last term is :math:`2\gamma^2\tilde\sigma^2C^2`). The paper bounds the risk of anisotropic data
between two such ODEs that coincide for isotropic data; this function is that single ODE (the
recursion above keeps, in addition, its O(1/d) corrections).

Reference: Bombari, Seroussi, Mondelli, *Better Rates for Private Linear Regression in the
Proportional Regime via Aggressive Clipping* (2505.16329); Abadi et al., *Deep Learning with
Differential Privacy* (1607.00133).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import scipy.special
from jax.scipy.special import erf
from numpy.typing import ArrayLike

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
        new = (
            a * (1.0 - 2.0 * eta * mu_c * lam + eta**2 * (1.0 - inv_b) * mu_c**2 * lam**2)
            + eta**2 * inv_b * second
            + eta**2 * (noise_multiplier * clip * inv_b) ** 2
        )
        return new, (0.5 * s2, mu_c, e_psi2 / (0.5 * s2))

    last, (risk, mu_c, nu_c) = jax.lax.scan(step, a0, etas)
    s2, m_last, p_last, _ = observe(last)
    append = lambda xs, x: jnp.concatenate([xs, x[None]])  # noqa: E731
    return append(risk, 0.5 * s2), append(mu_c, m_last), append(nu_c, p_last / (0.5 * s2))


def dpsgd_curves(
    lam: np.ndarray,
    v0: np.ndarray,
    etas: np.ndarray,
    steps: np.ndarray,
    batch_size: int,
    noise: float,
    clip: float,
    noise_multiplier: float,
) -> dict[str, np.ndarray]:
    """Risk, clipping factor μ_c and noise factor ν_c after each number of updates in ``steps``."""
    n = int(np.max(steps))
    with jax.enable_x64(True):
        curves = _scan_dpsgd(
            jnp.asarray(lam),
            jnp.asarray(v0),
            jnp.asarray(etas[:n]),
            1.0 / batch_size,
            float(noise) ** 2,
            float(clip),
            float(noise_multiplier),
        )
        risk, mu_c, nu_c = (np.asarray(x, dtype=np.float64)[steps] for x in curves)
    return {"risk": risk, "clipping_factor": mu_c, "noise_factor": nu_c}


def isotropic_ode_risk(
    t: np.ndarray,
    *,
    dim: int,
    n_samples: int,
    learning_rate: ArrayLike,
    noise: float,
    clip: ArrayLike,
    noise_multiplier: ArrayLike,
    q0: float,
    min_steps: int = 400,
) -> np.ndarray:
    r"""Risk at times ``t`` (= step/n, in [0, 1]) of the paper's ODE for isotropic data (module docstring).

    ``learning_rate`` is the step η in this package's units (η̃ = η n/d), ``noise_multiplier`` the per-step
    σ_p, ``q0`` = ‖e₀‖²/d; ``learning_rate``, ``clip`` and ``noise_multiplier`` broadcast together, and the
    result has shape ``broadcast shape + t.shape``. Classical RK4 (NumPy, vectorized over the broadcast
    cells) with ``max(min_steps, 20·len(t))`` steps on [0, max t] (the rates are at most a few units)."""
    gamma = dim / n_samples
    eta, c, sigma_p = np.broadcast_arrays(
        *(np.asarray(x, dtype=np.float64) for x in (learning_rate, clip, noise_multiplier))
    )
    eta_tilde = eta / gamma
    forcing = n_samples * eta**2 * sigma_p**2 * c**2

    def rate(q: np.ndarray) -> np.ndarray:
        s = np.sqrt(np.maximum(q, 0.0) + noise**2)
        u = c / s
        mu_c = scipy.special.erf(u / np.sqrt(2.0))  # P(|r| ≤ c), as in clipping_moments
        phi = np.exp(-0.5 * u**2) / np.sqrt(2.0 * np.pi)
        e_psi2 = s**2 * (mu_c - 2.0 * u * phi) + c**2 * (1.0 - mu_c)
        return -2.0 * eta_tilde * mu_c * q + gamma * eta_tilde**2 * e_psi2 + forcing

    t = np.atleast_1d(np.asarray(t, dtype=np.float64))
    steps = max(int(min_steps), 20 * len(t))
    h = float(t.max()) / steps
    q = np.full(eta.shape, float(q0))
    path = [q]
    for _ in range(steps):  # theory code: a host loop over ODE time, not over training steps
        k1 = rate(q)
        k2 = rate(q + 0.5 * h * k1)
        k3 = rate(q + 0.5 * h * k2)
        k4 = rate(q + h * k3)
        q = q + h * (k1 + 2 * k2 + 2 * k3 + k4) / 6.0
        path.append(q)
    grid = np.arange(steps + 1) * h
    path = np.moveaxis(np.asarray(path), 0, -1)  # (..., steps + 1)
    at_t = (
        np.apply_along_axis(lambda qs: np.interp(t, grid, qs), -1, path) if path.ndim > 1 else np.interp(t, grid, path)
    )
    return 0.5 * (at_t + noise**2)


DP_PARAMS = {
    "l2_norm_clip": Param("float", 1.0, "per-example clipping norm C", low=0.0, low_open=True),
    "noise_multiplier": Param("float", 0.0, "σ_p: privacy noise std = σ_p·C (on the batch sum)", low=0.0),
}


@register_prediction(
    "dpsgd_least_squares",
    {**PROBLEM_PARAMS, **OPTIMIZER_PARAMS, **DP_PARAMS},
    "DP-SGD (clipping + Gaussian noise) on streaming least squares: risk and effective clipping",
    "Bombari, Seroussi, Mondelli. Better Rates for Private Linear Regression ... (2505.16329)",
    kind="limit",
    problem="least_squares",
    metrics={"risk": "population_risk"},
)
def predict_dpsgd(steps: np.ndarray, **p: Any) -> dict[str, np.ndarray]:
    lam, v0 = problem_arrays(p)
    etas = learning_rates(int(steps.max()), p)
    return dpsgd_curves(lam, v0, etas, steps, p["batch_size"], p["noise"], p["l2_norm_clip"], p["noise_multiplier"])
