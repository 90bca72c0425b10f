"""The Gaussian limit of the last SGD iterate under any schedule: closed forms, exact recursion, simulation."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from descentlab.problems.least_squares import LeastSquares
from descentlab.theory import PREDICTIONS
from descentlab.theory._least_squares import learning_rates, problem_arrays
from descentlab.theory.sgd_general_lr import (
    constant_step_covariance,
    exact_second_moment,
    gd_mean,
    limit_covariance,
    linear_decay_covariance,
    remaining_time,
)

PROBLEM = dict(dim=4, spectrum="custom", spectrum_values="1,0.6,0.35,0.2", normalize="max", noise=1.0)


def rates(schedule: str, eta0: float, steps: int, **extra) -> np.ndarray:
    return learning_rates(steps, dict(learning_rate=eta0, schedule=schedule, total_steps=steps, **extra))


def test_remaining_time_is_the_tail_sum_after_each_update():
    etas = np.array([0.5, 0.25, 0.125, 1.0])
    np.testing.assert_allclose(remaining_time(etas), [1.375, 1.125, 1.0, 0.0])


def test_constant_step_limit_solves_the_lyapunov_equation():
    lam = np.array([1.0, 0.3])
    s = np.array([[0.7, 0.2], [0.2, 0.4]])
    sigma = limit_covariance(lam, s, np.full(200_000, 1e-3))
    lyapunov = constant_step_covariance(lam, s, 1e-3)
    h = np.diag(lam)
    np.testing.assert_allclose(h @ lyapunov + lyapunov @ h, 1e-3 * s, rtol=1e-12)
    np.testing.assert_allclose(sigma, lyapunov, rtol=2e-3)  # the sum vs the integral: relative O(ηλ)


def test_linear_decay_limit_approaches_its_closed_form_with_the_T_to_the_minus_half_law():
    lam = np.array([1.0, 0.25])
    ratios = []
    for steps in (20_000, 80_000):
        etas = rates("linear_decay", 0.01, steps)
        ratios.append(limit_covariance(lam, lam, etas) / linear_decay_covariance(lam, lam, 0.01, steps))
    np.testing.assert_allclose(ratios[-1], 1.0, atol=2e-3)
    small = limit_covariance(lam, lam, rates("linear_decay", 0.01, 20_000))
    large = limit_covariance(lam, lam, rates("linear_decay", 0.01, 80_000))
    np.testing.assert_allclose(small / large, 2.0, rtol=5e-3)  # four times longer: half the variance


def test_diagonal_noise_gives_the_diagonal_of_the_full_formula():
    lam = np.array([1.0, 0.5, 0.2])
    etas = rates("triangular", 0.02, 3000, half_cycle=300, min_fraction=0.1)
    full = limit_covariance(lam, np.diag(lam), etas)
    np.testing.assert_allclose(np.diag(full), limit_covariance(lam, lam, etas), rtol=1e-12)
    assert np.allclose(full - np.diag(np.diag(full)), 0.0)


@pytest.mark.parametrize(
    "schedule,extra",
    [("constant", {}), ("linear_decay", {}), ("cosine", {}), ("triangular", {"half_cycle": 1600, "min_fraction": 0.1})],
)
def test_limit_within_its_order_eta_of_the_exact_recursion_and_closer_as_eta_halves(schedule, extra):
    lam, v0 = problem_arrays(PROBLEM)
    gaps = []
    for eta0, steps in ((0.008, 16_000), (0.004, 32_000)):
        extra_steps = {**extra, "half_cycle": steps // 10} if schedule == "triangular" else {}
        etas = rates(schedule, eta0, steps, **extra_steps)
        mean = gd_mean(lam, -np.sqrt(v0), etas)
        predicted = mean**2 + limit_covariance(lam, lam, etas)
        exact = exact_second_moment(lam, v0, etas, noise=1.0)
        gaps.append(np.max(np.abs(predicted / exact - 1.0)))
        assert gaps[-1] < eta0 * (1.0 + np.sum(lam))  # the O(η(λ + tr K/2)) of the module docstring, with room
    assert gaps[1] < 0.6 * gaps[0]  # the gap is O(η): halving η halves it


def test_prediction_curve_matches_the_functions_and_starts_at_the_initial_error():
    steps = np.array([0, 10, 500, 2000])
    opt = dict(learning_rate=0.01, schedule="linear_decay", total_steps=2000)
    curve = PREDICTIONS.get("sgd_general_lr").predict(steps, **PROBLEM, **opt)["iterate_second_moment"]
    lam, v0 = problem_arrays(PROBLEM)
    etas = rates("linear_decay", 0.01, 2000)
    expected = np.sum(gd_mean(lam, np.sqrt(v0), etas) ** 2 + limit_covariance(lam, lam, etas))
    assert curve[0] == pytest.approx(np.sum(v0))
    # the curve's variance uses exp(−2ηλ) per step, the function the remaining-time sum: identical
    assert curve[-1] == pytest.approx(expected, rel=1e-10)


def test_last_iterate_is_gaussian_with_the_limit_covariance_in_simulation():
    """4096 seeds of online SGD, linear decay to zero: per-direction variances and normality."""
    problem = LeastSquares(**PROBLEM)
    steps, eta0, seeds = 3000, 0.02, 4096
    etas = rates("linear_decay", eta0, steps)
    with jax.enable_x64(True):
        lam = np.asarray(problem.eigenvalues, np.float64)
        theta_star = np.asarray(problem.theta_star, np.float64)
        etas_j = jnp.asarray(etas)

        def one(key):
            def step(theta, inputs):
                eta, k = inputs
                g = jax.grad(problem.loss)(theta, problem.sample(k, 1))
                return theta - eta * g, None

            final, _ = jax.lax.scan(step, jnp.zeros(4, jnp.float64), (etas_j, jax.random.split(key, steps)))
            return final

        finals = np.asarray(jax.jit(jax.vmap(one))(jax.random.split(jax.random.key(7), seeds)))
    errors = finals - theta_star
    mean = gd_mean(lam, -theta_star, etas)
    var = limit_covariance(lam, lam, etas)
    exact = exact_second_moment(lam, theta_star**2, etas, noise=1.0)
    assert np.max(np.abs((mean**2 + var) / exact - 1)) < 0.05  # the limit's O(η) gap at η₀ = 0.02
    measured = np.var(errors, axis=0, ddof=1)
    z = (measured / exact - 1.0) / np.sqrt(2.0 / seeds)
    assert np.max(np.abs(z)) < 4.0, z
    standardized = (errors - mean) / np.sqrt(var)
    for i in range(4):
        assert np.sqrt(seeds) * stats.kstest(standardized[:, i], "norm").statistic < 1.95
