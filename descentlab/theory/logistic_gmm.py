r"""Streaming SGD on binary logistic regression with Gaussian-mixture data: the high-dimensional ODE.

Data: :math:`y=\pm1` with equal probability, :math:`x = y\mu + z`, :math:`z\sim\mathcal N(0,K)`,
:math:`K=\mathrm{diag}(\lambda)` built by :func:`descentlab.problems.least_squares.covariance_spectrum`
(isotropic, zero-one, power-law, two-level; trace-normalised by default). The class mean has the
profile of :func:`~descentlab.problems.least_squares.teacher_vector`'s direction, rescaled so that
:math:`\|\mu\|^2 = s^2\bar\lambda` (``mean_scale`` = s, :math:`\bar\lambda=\operatorname{tr}K/d`): for isotropic K,
:math:`s^2` is the signal-to-noise ratio along μ, and learning takes O(d) steps as in the papers' scaling.
Loss :math:`\ell = \log(1+e^{-y x^\top\theta})`, update :math:`\theta\leftarrow\theta-\eta_t\frac1b\sum_j\nabla\ell_j`,
:math:`\theta_0 = \text{init\_scale}\cdot\mathcal N(0,I/d)`.

The margin :math:`m = y x^\top\theta \sim \mathcal N(a, q)` given θ, with the overlap :math:`a=\mu^\top\theta`
and :math:`q=\theta^\top K\theta`, so the population risk :math:`E\log(1+e^{-m})` and the classification error
:math:`\Phi(-a/\sqrt q)` depend on (a, q) only. With :math:`s(m) = 1/(1+e^{m})`, Gaussian integration by parts
gives :math:`E[g\mid\theta] = -A\mu + B K\theta`, :math:`A = E\,s(m)`, :math:`B = E\,s(m)(1-s(m))`, and
:math:`E[g_i^2\mid\theta]\approx E[s(m)^2](\mu_i^2+\lambda_i)` to leading order in :math:`\lambda_{\max}`. In high
dimension a and q concentrate, and the mean :math:`\bar\theta_i` and second moments :math:`v_i=E\theta_i^2` follow

.. math::
   \bar\theta_i' = \bar\theta_i + \eta(A\mu_i - B\lambda_i\bar\theta_i),\qquad
   v_i' = v_i + 2\eta(A\mu_i\bar\theta_i - B\lambda_i v_i)
        + \eta^2\Big[\tfrac1b E[s^2](\mu_i^2+\lambda_i) + (1-\tfrac1b)(A\mu_i - B\lambda_i\bar\theta_i)^2\Big],

with :math:`a=\mu^\top\bar\theta`, :math:`q=\sum_i\lambda_iv_i`, and A, B, :math:`E[s^2]` Gaussian expectations over
:math:`m\sim\mathcal N(a,q)` (64-point Gauss–Hermite). Integrated one step at a time (``lax.scan``, O(d) a step).

The overlap also splits over the eigen-directions, :math:`a = a_C + a_N` with :math:`a_C=\sum_{i\in C}\mu_i\bar\theta_i`
on the clean half C (the ⌊d/2⌋ smallest variances) — 2510.14074's clean vs noisy directions. Since
:math:`\bar\theta_i\approx\frac{A\mu_i}{B\lambda_i}(1-e^{-B\lambda_i\tau})` saturates in the noisy directions and
keeps growing in the clean ones, the clean share :math:`a_C/a` grows with the anisotropy (for isotropic K it is
:math:`\lVert\mu_C\rVert^2/\lVert\mu\rVert^2` at every step).

References: Collins-Woodfin, Paquette, Paquette, Seroussi, *Hitting the High-Dimensional Notes: An ODE for
SGD Learning Dynamics on GLMs and Multi-Index Models* (2308.08977); Collins-Woodfin, Seroussi, *Exact Dynamics of
Multi-class Stochastic Gradient Descent* (2510.14074): anisotropic Gaussian-mixture classes with isotropic, zero-one
and power-law covariances.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import ndtr

from descentlab.params import Param
from descentlab.problems.least_squares import SPECTRA, TEACHERS, covariance_spectrum, teacher_vector
from descentlab.problems.logistic_mixture import clean_mask
from descentlab.theory._least_squares import OPTIMIZER_PARAMS, learning_rates
from descentlab.theory.registry import register_prediction

_NODES, _WEIGHTS = np.polynomial.hermite.hermgauss(64)


def gaussian_expectations(a, q):
    """(risk E log(1+e^{−m}), A = E s, B = E s(1−s), E s²) for m ~ N(a, q), by Gauss–Hermite."""
    m = a + jnp.sqrt(2.0 * jnp.maximum(q, 0.0)) * jnp.asarray(_NODES)
    w = jnp.asarray(_WEIGHTS) / jnp.sqrt(jnp.pi)
    s = jax.nn.sigmoid(-m)
    return (jnp.dot(w, jnp.logaddexp(0.0, -m)), jnp.dot(w, s), jnp.dot(w, s * (1.0 - s)), jnp.dot(w, s * s))


def mixture_arrays(params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(λ, μ) in float64 following the conventions of the module docstring."""
    with jax.enable_x64(True):
        lam = covariance_spectrum(
            params["dim"], params["spectrum"], params["alpha"], params["zero_fraction"], normalize=params["normalize"]
        )
        direction = teacher_vector(
            params["dim"], params["mean_profile"], params["mean_decay"], params["mean_seed"], jnp.ones_like(lam)
        )
        lam_np = np.asarray(lam, dtype=np.float64)
        u = np.asarray(direction, dtype=np.float64)
    mu = params["mean_scale"] * np.sqrt(lam_np.mean()) * u / np.linalg.norm(u)
    return lam_np, mu


@jax.jit
def _scan(lam, mu, theta0, v0, etas, inv_b, clean):
    def observe(theta, v):
        a, q = jnp.dot(mu, theta), jnp.dot(lam, v)
        risk, big_a, big_b, s2 = gaussian_expectations(a, q)
        return a, q, risk, big_a, big_b, s2

    def step(carry, eta):
        theta, v = carry
        _, _, _, big_a, big_b, s2 = observe(theta, v)
        drift = big_a * mu - big_b * lam * theta
        v = (
            v
            + 2.0 * eta * (big_a * mu * theta - big_b * lam * v)
            + eta**2 * (inv_b * s2 * (mu**2 + lam) + (1.0 - inv_b) * drift**2)
        )
        theta = theta + eta * drift
        a, q, risk, *_ = observe(theta, v)
        return (theta, v), (risk, a, q, jnp.dot(clean * mu, theta))

    a0, q0, r0, *_ = observe(theta0, v0)
    _, (risk, a, q, a_clean) = jax.lax.scan(step, (theta0, v0), etas)
    first = (r0, a0, q0, jnp.dot(clean * mu, theta0))
    return tuple(jnp.concatenate([x0[None], x]) for x0, x in zip(first, (risk, a, q, a_clean), strict=True))


def logistic_gmm_curves(
    lam: np.ndarray, mu: np.ndarray, etas: np.ndarray, steps: np.ndarray, batch_size: int = 1, init_scale: float = 0.0
) -> dict[str, np.ndarray]:
    r"""Risk, error, overlap a = μᵀθ, q = θᵀKθ, and the parts of a on the clean and noisy halves of the
    eigen-directions (``overlap_clean`` = :math:`\sum_{i\in C}\mu_i\bar\theta_i`, ``overlap_noisy`` = a − it;
    C from :func:`~descentlab.problems.logistic_mixture.clean_mask`: the ⌊d/2⌋ smallest variances) on ``steps``."""
    d = lam.size
    with jax.enable_x64(True):
        risk, a, q, a_clean = _scan(
            jnp.asarray(lam),
            jnp.asarray(mu),
            jnp.zeros(d),
            jnp.full(d, init_scale**2 / d),
            jnp.asarray(etas[: int(np.max(steps))]),
            1.0 / batch_size,
            jnp.asarray(clean_mask(d)),
        )
        risk, a, q, a_clean = (np.asarray(x, dtype=np.float64)[steps] for x in (risk, a, q, a_clean))
        error = np.asarray(ndtr(-a / np.sqrt(np.maximum(q, 1e-300))))
    error = np.where(q > 0, error, np.where(a > 0, 0.0, 0.5))
    return {
        "risk": risk,
        "error": error,
        "overlap": a,
        "norm_sq": q,
        "overlap_clean": a_clean,
        "overlap_noisy": a - a_clean,
    }


PARAMS: dict[str, Param] = {
    "dim": Param("int", 500, "dimension d", low=1, high=2_000_000),
    "spectrum": Param("str", "isotropic", "covariance spectrum of the noise z", choices=SPECTRA[:4]),
    "normalize": Param("str", "trace", "trace: tr K = 1; max: λ_max = 1", choices=("trace", "max")),
    "alpha": Param("float", 1.0, "power-law exponent: λ_i ∝ i^-α", low=0.0, high=10.0),
    "zero_fraction": Param("float", 0.5, "zero_one: fraction of zero eigenvalues", low=0.0, high=1.0, high_open=True),
    "mean_profile": Param("str", "flat", "profile of the class mean μ in the eigenbasis", choices=TEACHERS),
    "mean_decay": Param("float", 0.0, "power_law mean: μ_i² ∝ i^-β", low=0.0, high=10.0),
    "mean_seed": Param("int", 0, "random mean: its seed", low=0),
    "mean_scale": Param("float", 2.0, "s: ‖μ‖² = s²·tr(K)/d", low=0.0),
    "init_scale": Param("float", 0.0, "θ₀ ~ init_scale · N(0, I/d)", low=0.0),
    **OPTIMIZER_PARAMS,
}


@register_prediction(
    "logistic_gmm",
    PARAMS,
    "Streaming SGD on binary logistic regression, two Gaussian classes ±μ + N(0, K): risk, error, overlap μᵀθ "
    "and its clean/noisy parts",
    "Collins-Woodfin, Paquette, Paquette, Seroussi (2308.08977); 2510.14074",
    kind="limit",
)
def predict_logistic_gmm(steps: np.ndarray, **p: Any) -> dict[str, np.ndarray]:
    lam, mu = mixture_arrays(p)
    etas = learning_rates(int(steps.max()), p)
    return logistic_gmm_curves(lam, mu, etas, steps, p["batch_size"], p["init_scale"])
