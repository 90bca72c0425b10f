r"""Exact expected risk of streaming SGD (with optional heavy-ball momentum) on Gaussian least squares.

Model (:mod:`descentlab.problems.least_squares`): :math:`x\sim\mathcal N(0,K)`, :math:`K=\mathrm{diag}(\lambda)`,
:math:`y = x^\top\theta^\star+\sigma\varepsilon`, update with a fresh batch of size b,
:math:`g_t = \frac1b\sum_j x_j(x_j^\top\theta_t - y_j)`, and optax's momentum convention
:math:`m_{t+1} = g_t + \beta m_t`, :math:`\theta_{t+1} = \theta_t - \eta_t m_{t+1}` (β = 0: plain SGD).

With :math:`e=\theta-\theta^\star`, :math:`E[g\mid e] = Ke` and, by Isserlis' theorem
:math:`E[x x^\top A x x^\top] = 2KAK + \operatorname{tr}(KA)K` for Gaussian x, the second moment of
the mean of b independent per-example gradients is

.. math:: E[g g^\top\mid e] = (1+\tfrac1b)\,K e e^\top K + \tfrac1b\,(e^\top K e + \sigma^2)\,K .

Because K is diagonal, the diagonal moments :math:`A_i = E e_i^2`, :math:`B_i = E e_i m_i`,
:math:`C_i = E m_i^2` close on themselves (off-diagonal moments never enter). Writing
:math:`G_i = (1+\tfrac1b)\lambda_i^2 A_i + \tfrac1b\lambda_i(\sum_j\lambda_jA_j + \sigma^2)`:

.. math::
   C_i' = G_i + 2\beta\lambda_i B_i + \beta^2 C_i,\quad
   B_i' = \lambda_i A_i + \beta B_i - \eta_t C_i',\quad
   A_i' = A_i - 2\eta_t(\lambda_i A_i + \beta B_i) + \eta_t^2 C_i' ,

which for β = 0 is :math:`A_i' = (1-2\eta\lambda_i+\eta^2\lambda_i^2(1+\tfrac1b))A_i
+ \tfrac{\eta^2}{b}\lambda_i(\sum_j\lambda_jA_j+\sigma^2)`. The expected population risk is
:math:`E\mathcal R_t = \tfrac12\sum_i\lambda_iA_i(t) + \tfrac{\sigma^2}2` — exact at every d, no limit taken.
It is computed with a ``lax.scan`` over steps under ``jit`` in float64: O(d) per step.

References: Paquette, Paquette, Adlam, Pennington, *Homogenization of SGD in high-dimensions*
(2205.07069); Bordelon & Pehlevan, *Learning curves for SGD on structured features* (2106.02713)
for the same closed moment recursion; Paquette & Paquette, *Dynamics of stochastic momentum methods on
large-scale quadratic models* (2106.03696) for momentum.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from descentlab.params import Param
from descentlab.theory._least_squares import OPTIMIZER_PARAMS, PROBLEM_PARAMS, learning_rates, problem_arrays
from descentlab.theory.registry import register_prediction


@jax.jit
def _scan_sgd(lam, a0, etas, inv_b, sigma2):
    shrink_quad = lam**2 * (1.0 + inv_b)

    def step(a, eta):
        two_r = jnp.dot(lam, a) + sigma2
        a = a * (1.0 - 2.0 * eta * lam + eta**2 * shrink_quad) + (eta**2 * inv_b * two_r) * lam
        return a, 0.5 * (jnp.dot(lam, a) + sigma2)

    _, risks = jax.lax.scan(step, a0, etas)
    return risks


@jax.jit
def _scan_momentum(lam, a0, etas, inv_b, sigma2, beta):
    def step(carry, eta):
        a, b, c = carry
        two_r = jnp.dot(lam, a) + sigma2
        g2 = (1.0 + inv_b) * lam**2 * a + inv_b * lam * two_r
        c = g2 + 2.0 * beta * lam * b + beta**2 * c
        e_m = lam * a + beta * b
        b = e_m - eta * c
        a = a - 2.0 * eta * e_m + eta**2 * c
        return (a, b, c), 0.5 * (jnp.dot(lam, a) + sigma2)

    zeros = jnp.zeros_like(a0)
    _, risks = jax.lax.scan(step, (a0, zeros, zeros), etas)
    return risks


def exact_risk(
    lam: np.ndarray,
    v0: np.ndarray,
    etas: np.ndarray,
    steps: np.ndarray,
    batch_size: int = 1,
    noise: float = 0.0,
    momentum: float = 0.0,
) -> np.ndarray:
    """E[population risk] after each number of updates in ``steps`` (``etas[t]`` drives update t+1)."""
    steps = np.asarray(steps, dtype=np.int64)
    n = int(steps.max()) if steps.size else 0
    if len(etas) < n:
        raise ValueError(f"need {n} learning rates, got {len(etas)}")
    sigma2 = float(noise) ** 2
    with jax.enable_x64(True):
        lam_j = jnp.asarray(lam, jnp.float64)
        a0 = jnp.asarray(v0, jnp.float64)
        eta_j = jnp.asarray(np.asarray(etas[:n], dtype=np.float64))
        if momentum == 0.0:
            risks = _scan_sgd(lam_j, a0, eta_j, 1.0 / batch_size, sigma2)
        else:
            risks = _scan_momentum(lam_j, a0, eta_j, 1.0 / batch_size, sigma2, float(momentum))
        r0 = 0.5 * (float(np.dot(lam, v0)) + sigma2)
        curve = np.concatenate([[r0], np.asarray(risks, dtype=np.float64)])
    return curve[steps]


MOMENTUM = {
    "momentum": Param("float", 0.0, "heavy-ball momentum β (optax trace convention)", low=0.0, high=1.0, high_open=True)
}


@register_prediction(
    "sgd_least_squares",
    {**PROBLEM_PARAMS, **OPTIMIZER_PARAMS, **MOMENTUM},
    "Exact expected risk of streaming (momentum) SGD on Gaussian least squares, any d (moment recursion)",
    "Paquette, Paquette, Adlam, Pennington (2205.07069); Isserlis' theorem for Gaussian fourth moments",
    kind="exact",
    problem="least_squares",
    metrics={"risk": "population_risk", "excess_risk": "excess_risk"},
)
def predict_sgd_least_squares(steps: np.ndarray, **params: Any) -> dict[str, np.ndarray]:
    lam, v0 = problem_arrays(params)
    etas = learning_rates(int(steps.max()), params)
    risk = exact_risk(lam, v0, etas, steps, params["batch_size"], params["noise"], params["momentum"])
    return {"risk": risk, "excess_risk": risk - 0.5 * params["noise"] ** 2}
