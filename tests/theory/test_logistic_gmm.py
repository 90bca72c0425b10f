"""Logistic regression on a two-class Gaussian mixture: the ODE against a simulation of streaming SGD."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.stats import norm

from descentlab.theory import PREDICTIONS, verdict
from descentlab.theory.logistic_gmm import PARAMS, mixture_arrays

STEPS = np.array([0, 100, 300, 1000, 2000])
NODES, WEIGHTS = np.polynomial.hermite.hermgauss(80)


def simulate(lam, mu, eta, n_steps, seeds, batch_size=1, seed=0):
    """(a = μᵀθ, q = θᵀKθ) after each step, per seed, for SGD on log(1 + e^{−y xᵀθ}), x = yμ + N(0, K)."""
    with jax.enable_x64(True):
        lam_j, mu_j, sd = jnp.asarray(lam), jnp.asarray(mu), jnp.sqrt(jnp.asarray(lam))

        def one(key):
            def step(theta, k):
                k_y, k_z = jax.random.split(k)
                y = jax.random.rademacher(k_y, (batch_size,), dtype=jnp.float64)
                x = y[:, None] * mu_j + jax.random.normal(k_z, (batch_size, lam.size)) * sd
                margin = y * (x @ theta)
                grad = -((y * jax.nn.sigmoid(-margin))[:, None] * x).mean(0)
                theta = theta - eta * grad
                return theta, (mu_j @ theta, jnp.sum(lam_j * theta**2))

            _, out = jax.lax.scan(step, jnp.zeros(lam.size), jax.random.split(key, n_steps))
            return out

        a, q = jax.jit(jax.vmap(one))(jax.random.split(jax.random.key(seed), seeds))
    a = np.concatenate([np.zeros((seeds, 1)), np.asarray(a)], axis=1)
    q = np.concatenate([np.zeros((seeds, 1)), np.asarray(q)], axis=1)
    return a, q


def population_risk(a, q):
    m = a[..., None] + np.sqrt(2 * q)[..., None] * NODES
    return np.sum(WEIGHTS * np.logaddexp(0.0, -m), axis=-1) / np.sqrt(np.pi)


@pytest.mark.parametrize("spectrum", ["isotropic", "zero_one", "power_law"])
def test_ode_matches_simulated_risk_error_and_overlap(spectrum):
    """d = 1000 in the papers' regime (λ_max → 0: power law with α = 0.5, λ_max ≈ 0.016)."""
    params = {k: p.default for k, p in PARAMS.items()} | dict(dim=1000, spectrum=spectrum, alpha=0.5, learning_rate=1.0)
    lam, mu = mixture_arrays(params)
    a, q = simulate(lam, mu, 1.0, int(STEPS.max()), seeds=4)
    risk = population_risk(a, q).mean(0)[STEPS]
    error = norm.cdf(-a / np.sqrt(np.maximum(q, 1e-300))).mean(0)[STEPS]
    pred = PREDICTIONS.get("logistic_gmm").predict(
        STEPS, **{k: params[k] for k in ("dim", "spectrum", "alpha")}, learning_rate=1.0
    )
    v = verdict(risk, pred["risk"], kind="curve", tolerance=0.02)
    assert v.passed, v.line()
    assert verdict(a.mean(0)[STEPS[1:]], pred["overlap"][1:], kind="curve", tolerance=0.05).passed
    assert verdict(q.mean(0)[STEPS[1:]], pred["norm_sq"][1:], kind="curve", tolerance=0.05).passed
    assert verdict(error[1:], pred["error"][1:], kind="curve", tolerance=0.05).passed
    assert pred["risk"][-1] < 0.5 * pred["risk"][0]
