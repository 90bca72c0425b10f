r"""Stability thresholds: 2/L for GD on quadratics, the 2/η edge-of-stability line, preconditioned thresholds.

* GD with heavy-ball momentum β (optax convention :math:`m' = g + \beta m`, :math:`x' = x - \eta m'`) on a
  quadratic with Hessian eigenvalue λ iterates :math:`\begin{pmatrix}x\\m\end{pmatrix}' =
  \begin{pmatrix}1-\eta\lambda & -\eta\beta\\ \lambda & \beta\end{pmatrix}\begin{pmatrix}x\\m\end{pmatrix}`,
  with characteristic polynomial :math:`z^2-(1-\eta\lambda+\beta)z+\beta`: stable iff
  :math:`0<\eta\lambda<2(1+\beta)`. So GD (β = 0) diverges iff :math:`\eta > 2/L`, and along training the
  sharpness :math:`\lambda_{\max}(\nabla^2 f)` cannot stay above :math:`2(1+\beta)/\eta` — the
  edge-of-stability line that full-batch GD on neural networks hovers at (Cohen et al. 2021).
* Adaptive methods with an EMA momentum :math:`m' = \beta_1 m + (1-\beta_1)g` and a preconditioner P
  (Adam: :math:`P=\mathrm{diag}(\sqrt{\hat v}+\epsilon)`), :math:`x' = x-\eta P^{-1}m'`: with P frozen,
  stable iff the preconditioned sharpness :math:`\lambda_{\max}(P^{-1}H) < \frac{2+2\beta_1}{(1-\beta_1)\eta}`
  (38/η for β₁ = 0.9; Cohen et al. 2022).
* ``gd_quadratic``: the exact expected loss of (momentum) GD on :mod:`descentlab.problems.quadratic`
  (:math:`x_0 = s\,g/\sqrt d`, so :math:`E x_{0,i}^2 = s^2/d` in every basis):
  :math:`E f(x_t) = \tfrac{s^2}{2d}\sum_i\lambda_i\,[M_i^t]_{11}^2`, with its threshold :math:`2(1+\beta)/L`.

References: Cohen, Kaur, Li, Kolter, Talwalkar, *Gradient Descent on Neural Networks Typically Occurs
at the Edge of Stability* (2103.00065); Cohen et al., *Adaptive Gradient Methods at the Edge of
Stability* (2207.14484); Polyak (1964).
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from descentlab.params import Param, SpecError
from descentlab.problems.quadratic import Quadratic
from descentlab.theory.registry import register_prediction

EOS = "Cohen et al. Gradient Descent on Neural Networks Typically Occurs at the Edge of Stability (2103.00065)"
ADAPTIVE_EOS = "Cohen et al. Adaptive Gradient Methods at the Edge of Stability (2207.14484)"

LR = {"learning_rate": Param("float", 0.01, "learning rate η", low=0.0, low_open=True)}
BETA = {
    "momentum": Param("float", 0.0, "heavy-ball momentum β (optax trace convention)", low=0.0, high=1.0, high_open=True)
}


def gd_threshold(smoothness: float, momentum: float = 0.0) -> float:
    """Largest stable step on a quadratic with top eigenvalue L: 2(1+β)/L."""
    return 2.0 * (1.0 + momentum) / smoothness


def sharpness_threshold(learning_rate: float, momentum: float = 0.0) -> float:
    """The edge-of-stability line 2(1+β)/η."""
    return 2.0 * (1.0 + momentum) / learning_rate


def nesterov_sharpness_threshold(learning_rate: float, momentum: float) -> float:
    r"""(2 + 2β)/((1 + 2β)η): the edge-of-stability line of Nesterov momentum.

    On a quadratic mode of curvature λ, Nesterov's iteration :math:`x_{t+1} = y_t - \eta\lambda y_t`,
    :math:`y_{t+1} = x_{t+1} + \beta(x_{t+1} - x_t)` has characteristic polynomial
    :math:`z^2 - (1+\beta)(1-\eta\lambda)z + \beta(1-\eta\lambda)`; its roots leave the unit disc through
    :math:`z = -1` when :math:`\eta\lambda = (2+2\beta)/(1+2\beta)`.
    """
    return (2.0 + 2.0 * momentum) / ((1.0 + 2.0 * momentum) * learning_rate)


def preconditioned_sharpness_threshold(learning_rate: float, beta1: float = 0.9) -> float:
    """(2 + 2β₁)/((1 − β₁)η): the stability limit of λ_max(P⁻¹H) for EMA-momentum adaptive methods."""
    return (2.0 + 2.0 * beta1) / ((1.0 - beta1) * learning_rate)


@functools.partial(jax.jit, static_argnames="n")
def _mode_powers(lam, eta, beta, n):
    """[M_i^t]_{11} for t = 0..n−1 and every mode (x₀ = 1, m₀ = 0)."""

    def step(carry, _):
        x, m = carry
        m = lam * x + beta * m
        x = x - eta * m
        return (x, m), x

    _, xs = jax.lax.scan(step, (jnp.ones_like(lam), jnp.zeros_like(lam)), None, length=n)
    return xs


def gd_quadratic_loss(
    lam: np.ndarray, second_moment: float, steps: np.ndarray, learning_rate: float, momentum: float = 0.0
) -> np.ndarray:
    """E f(x_t) = ½ Σ λ_i E[x_{0,i}²] [M_i^t]_{11}² on ``steps``."""
    n = int(np.max(steps))
    with jax.enable_x64(True):
        xs = np.asarray(_mode_powers(jnp.asarray(lam), float(learning_rate), float(momentum), n))
    xs = np.concatenate([np.ones((1, lam.size)), xs.reshape(n, lam.size)])
    with np.errstate(over="ignore", invalid="ignore"):
        return 0.5 * second_moment * np.sum(lam * xs[steps] ** 2, axis=1)


@register_prediction(
    "gd_quadratic",
    {**Quadratic.declared_params(), **LR, **BETA},
    "Exact expected loss of (momentum) GD on the quadratic problem, with its 2(1+β)/L threshold",
    "Polyak (1964); " + EOS,
    kind="exact",
    problem="quadratic",
    metrics={"loss": "suboptimality"},
)
def predict_gd_quadratic(steps: np.ndarray, **p: Any) -> dict[str, np.ndarray]:
    fields = {k: p[k] for k in Quadratic.declared_params() if k in p}
    if fields.get("grad_noise", 0.0):
        raise SpecError("theory.grad_noise", fields["grad_noise"], "gd_quadratic is for exact gradients: 0")
    with jax.enable_x64(True):
        problem = Quadratic(**fields)
        lam = np.asarray(problem.eigenvalues, dtype=np.float64)
    loss = gd_quadratic_loss(lam, problem.init_scale**2 / problem.dim, steps, p["learning_rate"], p["momentum"])
    threshold = gd_threshold(float(lam.max()), p["momentum"])
    return {"loss": loss, "threshold": np.full(steps.shape, threshold)}


@register_prediction(
    "edge_of_stability",
    {**LR, **BETA},
    "The 2(1+β)/η line that the sharpness of full-batch (momentum) GD cannot stay above",
    EOS,
    kind="bound",
)
def predict_edge_of_stability(steps: np.ndarray, **p: Any) -> dict[str, np.ndarray]:
    return {"sharpness": np.full(steps.shape, sharpness_threshold(p["learning_rate"], p["momentum"]))}


@register_prediction(
    "adaptive_edge_of_stability",
    {**LR, "beta1": Param("float", 0.9, "EMA momentum β₁", low=0.0, high=1.0, high_open=True)},
    "The (2+2β₁)/((1−β₁)η) line for the preconditioned sharpness λ_max(P⁻¹H) of Adam-type methods",
    ADAPTIVE_EOS,
    kind="bound",
)
def predict_adaptive_edge_of_stability(steps: np.ndarray, **p: Any) -> dict[str, np.ndarray]:
    value = preconditioned_sharpness_threshold(p["learning_rate"], p["beta1"])
    return {"preconditioned_sharpness": np.full(steps.shape, value)}
