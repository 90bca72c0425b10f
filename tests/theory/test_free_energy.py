"""Free-energy temperature: the slope ∂U/∂S of a Gibbs family, the free-energy argmin, and the first-order SGD
temperature against the exact stationary covariance and a NumPy SGD simulation."""

from __future__ import annotations

import numpy as np
import pytest

from descentlab.theory.free_energy import (
    free_energy_argmin,
    noise_trace,
    sgd_excess_loss,
    sgd_temperature,
    thermodynamic_temperature,
)


def test_the_slope_of_a_gibbs_family_is_its_temperature():
    # p_T ∝ exp(−f/T) around a quadratic minimum in d dims: U = f* + dT/2, S = (d/2) log T + const
    d, temps = 10, np.geomspace(0.01, 1.0, 7)
    eta = 3.0 * temps  # any increasing labelling of the states
    mid, slope = thermodynamic_temperature(eta, 0.2 + d * temps / 2, d / 2 * np.log(temps) + 4.0)
    assert np.allclose(mid, 3.0 * np.sqrt(temps[1:] * temps[:-1]))
    # the secant of U = f* + (d/2)e^{2S/d} between T_a and T_b is (T_b − T_a)/log(T_b/T_a), the log-mean
    expected = (temps[1:] - temps[:-1]) / np.log(temps[1:] / temps[:-1])
    assert np.allclose(slope, expected, rtol=1e-12)


def test_the_states_are_sorted_and_a_flat_entropy_gives_nan():
    mid, slope = thermodynamic_temperature(np.array([0.4, 0.1, 0.2]), np.array([3.0, 1.0, 2.0]), np.zeros(3))
    assert np.allclose(mid, [np.sqrt(0.02), np.sqrt(0.08)]) and np.all(np.isnan(slope))


def test_free_energy_argmin_is_the_own_state_exactly_when_u_is_convex_in_s():
    s = np.linspace(0.0, 4.0, 6)
    assert np.array_equal(free_energy_argmin(np.exp(s), s), np.arange(1, 5))
    concave = free_energy_argmin(np.log1p(s), s)  # T falls with S: F_T has its minimum at an end
    assert np.all(concave != np.arange(1, 5))
    assert np.array_equal(free_energy_argmin(np.ones(4), np.zeros(4)), [-1, -1])


def test_first_order_sgd_excess_loss_matches_the_exact_lyapunov_solution_at_small_eta():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((6, 6))
    h = a @ a.T / 6 + 0.1 * np.eye(6)
    b = rng.standard_normal((6, 6))
    c = b @ b.T / 6
    for eta in (1e-3, 1e-2):
        exact = sgd_excess_loss(h, c, eta)
        assert exact == pytest.approx(eta * np.trace(c) / 4, rel=2 * eta * np.linalg.eigvalsh(h).max())
    assert np.isnan(sgd_excess_loss(h, c, 2.5 / np.linalg.eigvalsh(h).max()))


def test_sgd_temperature_and_noise_trace_formulas():
    assert noise_trace(0.9, n_samples=10, batch_size=3) == pytest.approx(0.9 * 0.9 / 3)
    assert np.allclose(sgd_temperature(np.array([0.1, 0.2]), 0.8, 4), [0.005, 0.01])


def test_simulated_sgd_on_least_squares_stays_at_the_exact_stationary_excess_loss():
    """Batch-1 SGD with replacement on n = 40 points in d = 3 (label noise, ‖x‖² ≈ 1, η = 0.02): the time-averaged
    excess training loss matches ½ tr(HΣ) with C the per-example gradient covariance at the minimizer (the noise's
    dependence on θ adds a relative O(η‖x‖²) ≈ 2 %)."""
    rng = np.random.default_rng(3)
    n, d, eta = 40, 3, 0.02
    x = rng.standard_normal((n, d)) / np.sqrt(d)
    y = x @ np.ones(d) + rng.standard_normal(n)
    theta_star = np.linalg.lstsq(x, y, rcond=None)[0]
    f_star = 0.5 * np.mean((x @ theta_star - y) ** 2)
    g = x * (x @ theta_star - y)[:, None]
    c = np.cov(g.T, bias=True)
    h = x.T @ x / n
    steps, burn, chains = 20_000, 2_000, 64
    theta = np.tile(theta_star, (chains, 1))
    idx = rng.integers(0, n, size=(steps, chains))
    total = 0.0
    for t in range(steps):
        xi = x[idx[t]]
        theta -= eta * xi * (np.sum(xi * theta, axis=1) - y[idx[t]])[:, None]
        if t >= burn:
            total += np.mean(0.5 * np.mean((theta @ x.T - y) ** 2, axis=1))
    measured = total / (steps - burn) - f_star
    assert measured == pytest.approx(sgd_excess_loss(h, c, eta), rel=0.05)
    assert measured == pytest.approx(eta * np.trace(c) / 4, rel=0.15)
