r"""The Gaussian limit of the last SGD iterate under a general learning-rate schedule.

Setting (Goldreich, Wei, Bonnerjee, Li, Wu, *Asymptotic theory of SGD with a general learning-rate*, NeurIPS 2025):
online SGD :math:`\theta_{t+1}=\theta_t-\eta_t\,g(\theta_t,\xi_{t+1})` with fresh data at every step, a
minimizer :math:`\theta^\star` with Hessian :math:`H` and gradient-noise covariance at the minimizer
:math:`S=\operatorname{Cov}[g(\theta^\star,\xi)]`, and an arbitrary deterministic schedule
:math:`(\eta_t)`. Linearising at :math:`\theta^\star`, the error :math:`e_t=\theta_t-\theta^\star` is

.. math:: e_T = \Pi_{0,T}\,e_0 - \sum_{t<T}\eta_t\,\Pi_{t+1,T}\,\varepsilon_{t+1},\qquad
          \Pi_{t,T}=\prod_{s=t}^{T-1}(I-\eta_sH),

a weighted sum of martingale differences, so in the small-step limit (:math:`\max_t\eta_t\to0` with the
schedule's shape held fixed) the fluctuation :math:`e_T-\mathbb E e_T` is asymptotically
:math:`\mathcal N(0,\Sigma_T)` for any schedule, with the covariance the schedule integrated against the
Hessian and the noise,

.. math:: \Sigma_T=\int_0^T\eta(s)^2\,e^{-H\Lambda(s,T)}\,S\,e^{-H\Lambda(s,T)}\,ds,\qquad
          \Lambda(s,T)=\int_s^T\eta(r)\,dr ,

evaluated here at step resolution: in the eigenbasis of H (eigenvalues :math:`\lambda_i`),
:math:`(\Sigma_T)_{ij}=S_{ij}\sum_{t<T}\eta_t^2\exp(-(\lambda_i+\lambda_j)\Lambda_t)` with
:math:`\Lambda_t=\sum_{t<s<T}\eta_s`. The mean is gradient descent's, :math:`\mathbb E e_T=\Pi_{0,T}e_0`
(exact for a linear gradient). Closed forms of the two schedules the paper singles out:

* constant step η (and, quasi-statically, any slowly varying step): the Lyapunov equation
  :math:`H\Sigma+\Sigma H=\eta S`, i.e. :math:`\Sigma_{ij}=\eta S_{ij}/(\lambda_i+\lambda_j)`, so
  :math:`\eta^{-1/2}e_T\Rightarrow\mathcal N(0,\Sigma_1)`;
* linear decay to zero, :math:`\eta_t=\eta_0(1-t/T)`: with :math:`\tau=T-s`, :math:`\Lambda=\eta_0\tau^2/(2T)`
  and :math:`\int_0^\infty\tau^2e^{-c\tau^2}d\tau=\sqrt\pi/(4c^{3/2})`,

  .. math:: \Sigma_{ij}\simeq S_{ij}\,\frac{\sqrt\pi}{4}\Big(\frac{2}{\lambda_i+\lambda_j}\Big)^{3/2}
            \sqrt{\eta_0/T},

  so :math:`(T/\eta_0)^{1/4}e_T` has a Gaussian limit and the iterate's spread falls as :math:`T^{-1/4}`,
  with a :math:`\lambda^{-3/2}` (not :math:`\lambda^{-1}`) dependence on the curvature;
* cyclical schedules (triangular, cosine restarts): no closed form; the integral tracks the cycle.

For streaming least squares (:mod:`descentlab.problems.least_squares`), :math:`H=K=\mathrm{diag}(\lambda)`
and :math:`S=\sigma^2K` (the per-example gradient at θ* is :math:`-x\varepsilon`), so the per-direction
variance is :math:`v_i(T)=\sigma^2\lambda_i\sum_{t<T}\eta_t^2e^{-2\lambda_i\Lambda_t}`. The exact finite-η
second moment (:func:`exact_second_moment`, the closed recursion of :mod:`descentlab.theory.sgd_exact`
with Isserlis' fourth moments) differs from it by the multiplicative noise and the discretisation, a
relative :math:`O(\eta(\lambda_i+\operatorname{tr}K/2))`: that is the size at which the limit must hold.

The paper's full text was not available to this project (only its abstract): the statement above is the
limit it describes (the uncertainty of online SGD for arbitrary schedules, with cyclical and
linear-decay-to-zero schedules as the worked cases) written for the linear model, where every step can be
checked against the exact moment recursion.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from descentlab.theory._least_squares import OPTIMIZER_PARAMS, PROBLEM_PARAMS, learning_rates, problem_arrays
from descentlab.theory.registry import register_prediction


def remaining_time(etas: np.ndarray) -> np.ndarray:
    r""":math:`\Lambda_t=\sum_{t<s<T}\eta_s` for t = 0 … T−1: the intrinsic time left after update t."""
    etas = np.asarray(etas, dtype=np.float64)
    tail = np.cumsum(etas[::-1])[::-1]  # Σ_{s ≥ t} η_s
    return tail - etas


def limit_covariance(lam: np.ndarray, noise_cov: np.ndarray, etas: np.ndarray) -> np.ndarray:
    r"""The limit covariance :math:`\Sigma_T` in the eigenbasis of H (eigenvalues ``lam``).

    Args:
        lam: Hessian eigenvalues, shape (d,).
        noise_cov: S in the same basis: shape (d, d), or (d,) for a diagonal S (then the diagonal of Σ is returned).
        etas: the schedule η_0 … η_{T−1} (update t uses η_t).

    Returns:
        :math:`(\Sigma_T)_{ij}=S_{ij}\sum_t\eta_t^2e^{-(\lambda_i+\lambda_j)\Lambda_t}`: (d, d), or (d,) for a
        diagonal S.
    """
    lam = np.asarray(lam, dtype=np.float64)
    noise_cov = np.asarray(noise_cov, dtype=np.float64)
    etas = np.asarray(etas, dtype=np.float64)
    left = remaining_time(etas)
    weights = etas**2
    if noise_cov.ndim == 1:
        return noise_cov * (np.exp(-2.0 * lam[:, None] * left[None, :]) @ weights)
    rates = lam[:, None] + lam[None, :]
    kernel = np.exp(-rates[..., None] * left[None, None, :]) @ weights
    return noise_cov * kernel


def gd_mean(lam: np.ndarray, e0: np.ndarray, etas: np.ndarray) -> np.ndarray:
    r""":math:`\mathbb E e_T=\prod_t(1-\eta_t\lambda_i)\,e_{0,i}` (exact for a linear gradient, diagonal H)."""
    lam = np.asarray(lam, dtype=np.float64)
    factors = 1.0 - np.asarray(etas, dtype=np.float64)[None, :] * lam[:, None]
    return np.prod(factors, axis=1) * np.asarray(e0, dtype=np.float64)


def constant_step_covariance(lam: np.ndarray, noise_cov: np.ndarray, eta: float) -> np.ndarray:
    r"""The Lyapunov solution :math:`\Sigma_{ij}=\eta S_{ij}/(\lambda_i+\lambda_j)` (a diagonal S: its diagonal)."""
    lam = np.asarray(lam, dtype=np.float64)
    noise_cov = np.asarray(noise_cov, dtype=np.float64)
    if noise_cov.ndim == 1:
        return eta * noise_cov / (2.0 * lam)
    return eta * noise_cov / (lam[:, None] + lam[None, :])


def linear_decay_covariance(lam: np.ndarray, noise_cov: np.ndarray, eta0: float, total_steps: int) -> np.ndarray:
    r"""Linear decay to zero, large :math:`\eta_0T\lambda`:
    :math:`\Sigma_{ij}=S_{ij}\frac{\sqrt\pi}4(\frac2{\lambda_i+\lambda_j})^{3/2}\sqrt{\eta_0/T}`."""
    lam = np.asarray(lam, dtype=np.float64)
    noise_cov = np.asarray(noise_cov, dtype=np.float64)
    rates = 2.0 * lam if noise_cov.ndim == 1 else lam[:, None] + lam[None, :]
    return noise_cov * np.sqrt(np.pi) / 4.0 * (2.0 / rates) ** 1.5 * np.sqrt(eta0 / total_steps)


@jax.jit
def _scan_second_moment(lam, a0, etas, inv_b, sigma2):
    shrink_quad = lam**2 * (1.0 + inv_b)

    def step(a, eta):
        two_r = jnp.dot(lam, a) + sigma2
        return a * (1.0 - 2.0 * eta * lam + eta**2 * shrink_quad) + (eta**2 * inv_b * two_r) * lam, None

    final, _ = jax.lax.scan(step, a0, etas)
    return final


def exact_second_moment(
    lam: np.ndarray, e0_sq: np.ndarray, etas: np.ndarray, noise: float, batch_size: int = 1
) -> np.ndarray:
    r"""The exact :math:`\mathbb E e_{T,i}^2` of streaming SGD on Gaussian least squares (no limit taken).

    :math:`A_i'=(1-2\eta\lambda_i+\eta^2\lambda_i^2(1+\frac1b))A_i+\frac{\eta^2}b\lambda_i(\sum_j\lambda_jA_j+\sigma^2)`,
    the recursion of :mod:`descentlab.theory.sgd_exact`, run in float64 from :math:`A(0)=` ``e0_sq``.
    """
    with jax.enable_x64(True):
        out = _scan_second_moment(
            jnp.asarray(lam, jnp.float64),
            jnp.asarray(e0_sq, jnp.float64),
            jnp.asarray(np.asarray(etas, dtype=np.float64)),
            1.0 / batch_size,
            float(noise) ** 2,
        )
        return np.asarray(out, dtype=np.float64)


@jax.jit
def _scan_limit(lam, e0, etas, inv_b, sigma2):
    def step(carry, eta):
        mean, var = carry
        mean = (1.0 - eta * lam) * mean
        var = jnp.exp(-2.0 * eta * lam) * var + eta**2 * inv_b * sigma2 * lam
        return (mean, var), jnp.sum(mean**2 + var)

    _, second = jax.lax.scan(step, (e0, jnp.zeros_like(e0)), etas)
    return second


@register_prediction(
    "sgd_general_lr",
    {**PROBLEM_PARAMS, **OPTIMIZER_PARAMS},
    "Gaussian limit of the last SGD iterate under any schedule: E‖θ_t − θ*‖² = ‖GD mean‖² + tr Σ_t on least squares",
    "Goldreich, Wei, Bonnerjee, Li, Wu. Asymptotic theory of SGD with a general learning-rate (NeurIPS 2025)",
    kind="limit",
    problem="least_squares",
)
def predict_sgd_general_lr(steps: np.ndarray, **params: Any) -> dict[str, np.ndarray]:
    r"""``iterate_second_moment``: :math:`\|\mathbb E e_t\|^2+\operatorname{tr}\Sigma_t` after each count in ``steps``.

    The variance follows :math:`v_i'=e^{-2\eta\lambda_i}v_i+\eta^2\sigma^2\lambda_i/b` (the integral above, one step at
    a time); with θ₀ random the mean is taken from :math:`\mathbb E e_{0,i}^2` (a deterministic start's error).
    """
    lam, v0 = problem_arrays(params)
    etas = learning_rates(int(steps.max()), params)
    with jax.enable_x64(True):
        second = _scan_limit(
            jnp.asarray(lam, jnp.float64),
            jnp.asarray(np.sqrt(v0), jnp.float64),
            jnp.asarray(etas, jnp.float64),
            1.0 / params["batch_size"],
            float(params["noise"]) ** 2,
        )
        curve = np.concatenate([[float(np.sum(v0))], np.asarray(second, dtype=np.float64)])
    return {"iterate_second_moment": curve[steps]}
