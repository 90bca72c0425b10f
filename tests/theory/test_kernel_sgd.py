"""kernel_sgd: closed-form exponents, the Gaussian-equivalent recursion against a Monte Carlo simulation, and the
recursion's tuned learning curves against the closed-form rates."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from descentlab.problems.kernel_regression import KernelRegression
from descentlab.theory import PREDICTIONS
from descentlab.theory import kernel_sgd as K


def test_closed_form_exponents():
    assert K.source_exponent(K.target_decay_for(1.5, 2.0), 2.0) == pytest.approx(1.5)
    assert K.sgd_exponent(1.5, 2.0) == pytest.approx(0.75)  # minimax sβ/(sβ+1)
    assert K.sgd_exponent(0.25, 2.0) == pytest.approx(0.25)  # hard: s < 1 − 1/β, bias n^-s
    assert K.sgd_exponent(6.0, 2.0) == pytest.approx(12 / 13)  # no saturation
    assert K.krr_exponent(6.0, 2.0) == pytest.approx(0.8)  # saturated at s = 2
    assert K.krr_exponent(1.5, 2.0) == pytest.approx(K.sgd_exponent(1.5, 2.0))


def test_spectrum_matches_the_problem():
    problem = KernelRegression(n_train=0, n_modes=16, kernel_decay=2.0, target_decay=4.0)
    lam, a0 = K.spectrum(2.0, 4.0, 16)
    np.testing.assert_allclose(lam, np.asarray(problem.eigenvalues), rtol=1e-6)
    np.testing.assert_allclose(a0 * lam, np.asarray(problem.target_coefficients) ** 2, rtol=1e-5)


def _gaussian_sgd(lam, a0, etas, noise, seeds):
    """Monte Carlo: one-pass SGD with Gaussian features φ ~ N(0, Λ), error e = θ − θ*, final excess risk."""
    with jax.enable_x64(True):
        lam_j = jnp.asarray(lam)
        theta_star = jnp.sqrt(jnp.asarray(a0))

        def one(key):
            def step(theta, inputs):
                eta, k = inputs
                kx, ke = jax.random.split(k)
                phi = jnp.sqrt(lam_j) * jax.random.normal(kx, lam_j.shape, jnp.float64)
                y = phi @ theta_star + noise * jax.random.normal(ke, (), jnp.float64)
                return theta - eta * (phi @ theta - y) * phi, None

            keys = jax.random.split(key, len(etas))
            theta, _ = jax.lax.scan(step, jnp.zeros_like(theta_star), (jnp.asarray(etas), keys))
            return 0.5 * jnp.sum(lam_j * (theta - theta_star) ** 2)

        return np.asarray(jax.vmap(one)(jax.random.split(jax.random.PRNGKey(0), seeds)))


def test_recursion_matches_gaussian_simulation():
    n, eta0, noise = 300, 0.3, 0.5
    lam, a0 = K.spectrum(2.0, 3.0, 8)
    etas = eta0 * 1e-2 ** (np.arange(n) / n)
    finals = _gaussian_sgd(lam, a0, etas, noise, 4000)
    exact = K.expected_excess_risk([n], [eta0], 2.0, 3.0, 8, noise, 1e-2)[0, 0]
    stderr = finals.std(ddof=1) / np.sqrt(finals.size)
    assert abs(finals.mean() - exact) < 4 * stderr, (finals.mean(), exact, stderr)


def test_one_scan_for_all_horizons_matches_each_horizon_alone():
    """The horizons share one scan (steps past a horizon are zero): each must equal its own run."""
    together = K.expected_excess_risk([64, 200, 128], [0.05, 0.3], 2.0, 4.0, 8, 0.7, 1e-2)
    for i, n in enumerate([64, 200, 128]):
        alone = K.expected_excess_risk([n], [0.05, 0.3], 2.0, 4.0, 8, 0.7, 1e-2)[0]
        np.testing.assert_allclose(together[i], alone, rtol=1e-12)
    lam, a0 = K.spectrum(2.0, 4.0, 8)  # one step by hand: A' = (1 − 2ηλ + 2η²λ²)A + η²λ(λ·A + σ²)
    eta = 0.3
    by_hand = a0 * (1 - 2 * eta * lam + 2 * eta**2 * lam**2) + eta**2 * lam * (lam @ a0 + 0.49)
    np.testing.assert_allclose(K.expected_excess_risk([1], [eta], 2.0, 4.0, 8, 0.7, 1e-2)[0, 0], 0.5 * lam @ by_hand)


def test_prediction_registered_and_initial_risk():
    entry = PREDICTIONS.get("kernel_sgd_last_iterate")
    out = entry.predict(np.array([0, 64, 128]), n_modes=8, learning_rate=0.2)["excess_risk"]
    lam, a0 = K.spectrum(2.0, 4.0, 8)
    assert out[0] == pytest.approx(0.5 * lam @ a0)
    assert out[0] > out[1] > out[2] > 0


@pytest.mark.parametrize("source", [0.75, 1.5, 6.0])
def test_tuned_recursion_follows_the_closed_form_rate(source):
    """At n = 2¹⁰…2¹⁴ with the initial step tuned per n, the recursion's fitted exponent is within 0.04 of
    min(sβ/(sβ+1), s) (measured: +0.018, −0.016, −0.001); KRR's saturated 0.8 is 0.12 away at s = 6."""
    horizons = [1024, 2048, 4096, 8192, 16384]
    a = K.target_decay_for(source, 2.0)
    _, risk = K.tuned_initial_step(horizons, 2.0, a, 128, 1.0, 1e-3, points=25)
    slope = -np.polyfit(np.log(horizons), np.log(risk), 1)[0]
    assert abs(slope - K.sgd_exponent(source, 2.0)) < 0.04, slope
    if source > 2:
        assert slope - K.krr_exponent(source, 2.0) > 0.09
