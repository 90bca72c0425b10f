"""Logistic regression on a two-class Gaussian mixture: the ODE against a simulation of streaming SGD."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.stats import norm

from descentlab.problems.logistic_mixture import LogisticMixture, clean_mask, orthonormal_directions
from descentlab.theory import PREDICTIONS, verdict
from descentlab.theory.logistic_gmm import PARAMS, logistic_gmm_curves, mixture_arrays

STEPS = np.array([0, 100, 300, 1000, 2000])
NODES, WEIGHTS = np.polynomial.hermite.hermgauss(80)


def simulate(lam, mu, eta, n_steps, seeds, batch_size=1, seed=0):
    """(a = μᵀθ, q = θᵀKθ, a_C = Σ_clean μ_iθ_i) after each step, per seed, for SGD on log(1 + e^{−y xᵀθ}),
    x = yμ + N(0, K)."""
    with jax.enable_x64(True):
        lam_j, mu_j, sd = jnp.asarray(lam), jnp.asarray(mu), jnp.sqrt(jnp.asarray(lam))
        mu_clean = jnp.asarray(clean_mask(lam.size)) * mu_j

        def one(key):
            def step(theta, k):
                k_y, k_z = jax.random.split(k)
                y = jax.random.rademacher(k_y, (batch_size,), dtype=jnp.float64)
                x = y[:, None] * mu_j + jax.random.normal(k_z, (batch_size, lam.size)) * sd
                margin = y * (x @ theta)
                grad = -((y * jax.nn.sigmoid(-margin))[:, None] * x).mean(0)
                theta = theta - eta * grad
                return theta, (mu_j @ theta, jnp.sum(lam_j * theta**2), mu_clean @ theta)

            _, out = jax.lax.scan(step, jnp.zeros(lam.size), jax.random.split(key, n_steps))
            return out

        out = jax.jit(jax.vmap(one))(jax.random.split(jax.random.key(seed), seeds))
    return tuple(np.concatenate([np.zeros((seeds, 1)), np.asarray(x)], axis=1) for x in out)


def population_risk(a, q):
    m = a[..., None] + np.sqrt(2 * q)[..., None] * NODES
    return np.sum(WEIGHTS * np.logaddexp(0.0, -m), axis=-1) / np.sqrt(np.pi)


@pytest.mark.parametrize("spectrum", ["isotropic", "zero_one", "power_law"])
def test_ode_matches_simulated_risk_error_and_overlap(spectrum):
    """d = 1000 in the papers' regime (λ_max → 0: power law with α = 0.5, λ_max ≈ 0.016)."""
    params = {k: p.default for k, p in PARAMS.items()} | dict(dim=1000, spectrum=spectrum, alpha=0.5, learning_rate=1.0)
    lam, mu = mixture_arrays(params)
    a, q, _ = simulate(lam, mu, 1.0, int(STEPS.max()), seeds=4)
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


def test_ode_splits_the_overlap_into_clean_and_noisy_parts_as_simulated():
    """d = 1000, power law α = 0.5 and a mean tilted to the noisy half (μ_i² ∝ i^-0.2): a_C and a_N against 4 seeds."""
    params = {k: p.default for k, p in PARAMS.items()} | dict(
        dim=1000, spectrum="power_law", alpha=0.5, mean_profile="power_law", mean_decay=0.2, mean_scale=1.0
    )
    lam, mu = mixture_arrays(params)
    a, _, a_clean = simulate(lam, mu, 1.0, int(STEPS.max()), seeds=4)
    pred = logistic_gmm_curves(lam, mu, np.ones(int(STEPS.max())), STEPS)
    scale = pred["overlap"][-1]
    assert np.max(np.abs(a_clean.mean(0)[STEPS] - pred["overlap_clean"])) < 0.03 * scale
    assert np.max(np.abs((a - a_clean).mean(0)[STEPS] - pred["overlap_noisy"])) < 0.03 * scale
    np.testing.assert_allclose(pred["overlap_clean"] + pred["overlap_noisy"], pred["overlap"], rtol=1e-12)


def test_isotropic_clean_share_is_the_mean_share_and_grows_with_the_exponent():
    """Closed form: with K = I/d every θ̄_i = c(t)μ_i, so a_C/a = ‖μ_C‖²/‖μ‖² at every step; anisotropy raises it."""
    params = {k: p.default for k, p in PARAMS.items()} | dict(dim=400, mean_profile="power_law", mean_decay=0.2)
    steps = np.array([10, 400, 3200])
    lam, mu = mixture_arrays(params)
    pred = logistic_gmm_curves(lam, mu, np.ones(3200), steps)
    mask = clean_mask(400)
    np.testing.assert_allclose(
        pred["overlap_clean"] / pred["overlap"], np.sum(mask * mu**2) / np.sum(mu**2), rtol=1e-10
    )
    shares = []
    for alpha in (0.0, 0.25, 0.5, 0.75):
        lam, mu = mixture_arrays(params | dict(spectrum="power_law", alpha=alpha))
        out = logistic_gmm_curves(lam, mu, np.ones(3200), steps)
        shares.append(out["overlap_clean"][-1] / out["overlap"][-1])
    assert np.all(np.diff(shares) > 0), shares


def test_problem_overlap_parts_add_up_and_the_default_mean_is_unchanged():
    with jax.enable_x64(True):
        theta = jax.random.normal(jax.random.key(0), (50,))
        plain = LogisticMixture(dim=50, covariance="power_law")
        tilted = LogisticMixture(dim=50, covariance="power_law", mean_decay=0.5)
        m = tilted.metrics(theta)
        np.testing.assert_allclose(float(m["overlap_clean"] + m["overlap_noisy"]), float(m["overlap_mean"]), rtol=1e-12)
        assert float(jnp.linalg.norm(tilted.means[0])) == pytest.approx(1.0)
        u = jnp.asarray(plain.means[0])
        ratio = np.asarray(tilted.means[0] / u)
        assert np.all(np.diff(np.abs(ratio)) < 0)  # |μ_i / u_i| ∝ i^(-1/4), decreasing
    np.testing.assert_array_equal(
        np.asarray(LogisticMixture(dim=50).means[0]), np.asarray(jnp.asarray(orthonormal_directions(50, 1, 0)[0]))
    )
