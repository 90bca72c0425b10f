r"""Deterministic equivalent of streaming SGD on least squares: homogenized SGD / the Volterra equation.

In high dimensions (:math:`\lambda_{\max}\to0` with :math:`\operatorname{tr}K` fixed, steps counted
in units of :math:`1/\lambda`), the risk of streaming SGD concentrates on the solution of the ODE

.. math::
   \frac{dv_i}{dt} = -2\eta(t)\lambda_i v_i + \frac{\eta(t)^2}{b}\lambda_i\,
   \Big(\sum_j\lambda_j v_j + \sigma^2\Big),\qquad \mathcal R(t) = \tfrac12\sum_i\lambda_i v_i+\tfrac{\sigma^2}2,

i.e. homogenized SGD: the drift of gradient flow plus a noise whose covariance is
:math:`\tfrac{\eta^2}{b}\,2\mathcal R\,K` (the :math:`K e e^\top K` part of the exact gradient covariance is
dropped — it is :math:`O(\lambda_{\max})`). Equivalently, with :math:`\Gamma(t)=\int_0^t\eta`, the risk solves
the Volterra equation

.. math:: \mathcal R(t) = \tfrac12\sum_i\lambda_i v_i(0)e^{-2\lambda_i\Gamma(t)} + \tfrac{\sigma^2}2
   + \int_0^t \frac{\eta(s)^2}{b}\sum_i\lambda_i^2e^{-2\lambda_i(\Gamma(t)-\Gamma(s))}\,\mathcal R(s)\,ds .

Momentum β with small batches enters, in this limit, only through the effective learning rate
:math:`\eta/(1-\beta)` (Paquette & Paquette 2021).

Solver: an exponential integrator in the intrinsic time :math:`\tau=\Gamma(t)` — the diagonal decay is
integrated exactly, the coupling :math:`g=\sum_j\lambda_jv_j+\sigma^2` is taken linear over each
sub-interval (predictor–corrector, second order). The nodes are every step up to 100, then a
geometric grid (relative spacing ``ode_resolution``), plus the requested steps and every step where
the schedule jumps; so 10⁵ steps cost about a thousand O(d) updates.

References: Paquette, Paquette, Adlam, Pennington, *Homogenization of SGD in high-dimensions*
(2205.07069) and *Implicit Regularization or Implicit Conditioning?* (2206.07252); Collins-Woodfin,
Paquette, Paquette, Seroussi, *Hitting the High-Dimensional Notes* (2308.08977); Paquette & Paquette,
*Dynamics of stochastic momentum methods on large-scale quadratic models* (2106.03696).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from descentlab.params import Param
from descentlab.theory._least_squares import OPTIMIZER_PARAMS, PROBLEM_PARAMS, learning_rates, problem_arrays
from descentlab.theory.registry import register_prediction

DENSE_STEPS = 100


def phi1(z):
    """(1 − e^{−z})/z, stable at z → 0."""
    small = z < 1e-6
    zs = jnp.where(small, 1.0, z)
    return jnp.where(small, 1.0 - z / 2.0 + z**2 / 6.0, -jnp.expm1(-zs) / zs)


def phi2(z):
    """(z − 1 + e^{−z})/z², stable at z → 0."""
    small = z < 1e-3
    zs = jnp.where(small, 1.0, z)
    return jnp.where(small, 0.5 - z / 6.0 + z**2 / 24.0 - z**3 / 120.0, (zs + jnp.expm1(-zs)) / zs**2)


def ode_nodes(steps: np.ndarray, etas: np.ndarray, resolution: float) -> np.ndarray:
    """Integration nodes (integers): dense start, geometric after, the grid, and schedule jumps."""
    last = int(np.max(steps))
    parts = [np.arange(0, min(last, DENSE_STEPS) + 1), np.asarray(steps, dtype=np.int64)]
    if last > DENSE_STEPS:
        count = int(np.ceil(np.log(last / DENSE_STEPS) / np.log1p(resolution))) + 1
        parts.append(np.round(np.geomspace(DENSE_STEPS, last, count)).astype(np.int64))
    if etas.size > 1:
        scale = max(float(np.max(np.abs(etas))), 1e-300)
        jumps = np.nonzero(np.abs(np.diff(etas)) > 1e-3 * scale)[0] + 1
        parts.append(jumps)
        parts.append(jumps + 1)
    nodes = np.unique(np.concatenate(parts))
    return nodes[(nodes >= 0) & (nodes <= last)]


@jax.jit
def _scan_ode(lam, v0, d_tau, eta_bar, inv_b, sigma2):
    def step(v, inputs):
        dt, eb = inputs
        z = 2.0 * lam * dt
        decay = jnp.exp(-z)
        p1, p2 = phi1(z), phi2(z)
        c = eb * inv_b * lam * dt
        g0 = jnp.dot(lam, v) + sigma2
        pred = decay * v + c * p1 * g0
        g1 = jnp.dot(lam, pred) + sigma2
        v = decay * v + c * (p1 * g0 + p2 * (g1 - g0))
        return v, 0.5 * (jnp.dot(lam, v) + sigma2)

    _, risks = jax.lax.scan(step, v0, (d_tau, eta_bar))
    return risks


def ode_risk(
    lam: np.ndarray,
    v0: np.ndarray,
    etas: np.ndarray,
    steps: np.ndarray,
    batch_size: int = 1,
    noise: float = 0.0,
    resolution: float = 0.005,
) -> np.ndarray:
    """Homogenized-SGD risk at ``steps``; ``etas[t]`` is the (piecewise-constant) rate on [t, t+1)."""
    steps = np.asarray(steps, dtype=np.int64)
    etas = np.asarray(etas, dtype=np.float64)
    nodes = ode_nodes(steps, etas, resolution)
    sigma2 = float(noise) ** 2
    cum = np.concatenate([[0.0], np.cumsum(etas)])
    cum2 = np.concatenate([[0.0], np.cumsum(etas**2)])
    d_tau = np.diff(cum[nodes])
    d_tau2 = np.diff(cum2[nodes])
    eta_bar = np.divide(d_tau2, d_tau, out=np.zeros_like(d_tau), where=d_tau > 0)
    r0 = 0.5 * (float(np.dot(lam, v0)) + sigma2)
    with jax.enable_x64(True):
        risks = _scan_ode(
            jnp.asarray(lam), jnp.asarray(v0), jnp.asarray(d_tau), jnp.asarray(eta_bar), 1.0 / batch_size, sigma2
        )
        curve = np.concatenate([[r0], np.asarray(risks, dtype=np.float64)])
    return curve[np.searchsorted(nodes, steps)]


ODE_PARAMS = {
    "momentum": Param(
        "float", 0.0, "momentum β: enters as the effective rate η/(1−β)", low=0.0, high=1.0, high_open=True
    ),
    "ode_resolution": Param("float", 0.005, "relative spacing of the geometric integration grid", low=1e-5, high=0.5),
}


@register_prediction(
    "sgd_least_squares_ode",
    {**PROBLEM_PARAMS, **OPTIMIZER_PARAMS, **ODE_PARAMS},
    "Homogenized SGD (Volterra) deterministic equivalent of streaming SGD on least squares",
    "Paquette, Paquette, Adlam, Pennington (2205.07069, 2206.07252); Collins-Woodfin et al. (2308.08977)",
    kind="limit",
    problem="least_squares",
    metrics={"risk": "population_risk", "excess_risk": "excess_risk"},
)
def predict_sgd_least_squares_ode(steps: np.ndarray, **params: Any) -> dict[str, np.ndarray]:
    lam, v0 = problem_arrays(params)
    etas = learning_rates(int(steps.max()), params) / (1.0 - params["momentum"])
    risk = ode_risk(lam, v0, etas, steps, params["batch_size"], params["noise"], params["ode_resolution"])
    return {"risk": risk, "excess_risk": risk - 0.5 * params["noise"] ** 2}
