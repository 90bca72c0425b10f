"""The exact moment recursion against Monte Carlo SGD and against the full-matrix recursion."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from descentlab.problems.least_squares import LeastSquares
from descentlab.theory import PREDICTIONS, verdict
from descentlab.theory._least_squares import learning_rates, problem_arrays
from descentlab.theory.sgd_exact import exact_risk
from tests.theory._simulate import simulate_sgd

STEPS = np.array([0, 1, 2, 5, 10, 20, 40, 80, 150, 250, 400])

CASES = [
    # (problem fields, optimizer fields)
    (
        dict(dim=40, spectrum="power_law", alpha=1.0, noise=0.3, init_scale=0.5),
        dict(learning_rate=0.8, batch_size=1, momentum=0.0, schedule="constant"),
    ),
    (
        dict(dim=40, spectrum="two_level", teacher="random", teacher_seed=3, noise=0.0),
        dict(learning_rate=1.2, batch_size=4, momentum=0.0, schedule="cosine"),
    ),
    (
        dict(dim=30, spectrum="zero_one", teacher="power_law", teacher_decay=1.0, noise=0.2),
        dict(learning_rate=0.3, batch_size=2, momentum=0.6, schedule="constant"),
    ),
]


@pytest.mark.parametrize("problem_fields,opt", CASES)
def test_exact_recursion_matches_monte_carlo(problem_fields, opt):
    problem = LeastSquares(**problem_fields)
    predicted = PREDICTIONS.get("sgd_least_squares").predict(STEPS, **problem_fields, **opt)["risk"]
    etas = learning_rates(int(STEPS.max()), opt)
    risks = simulate_sgd(problem, etas, STEPS, seeds=3000, batch_size=opt["batch_size"], momentum=opt["momentum"])
    mean = risks.mean(0)
    se = risks.std(0, ddof=1) / np.sqrt(risks.shape[0])
    v = verdict(mean, predicted, kind="standard_error", stderr=se, tolerance=3.0)
    assert v.passed, v.line()
    # the curve moves a lot relative to the standard error, so the test has power
    assert np.max(np.abs(mean - mean[0]) / se) > 30


def test_exact_recursion_would_fail_without_the_fourth_moment_term():
    """Dropping the (1+1/b) K e eᵀ K term (the ODE's approximation) is detected at small d."""
    fields = dict(dim=8, spectrum="power_law", alpha=1.0, noise=0.2)
    lam, v0 = problem_arrays(fields)
    etas = np.full(400, 0.8)
    good = exact_risk(lam, v0, etas, STEPS, 1, 0.2)
    risks = simulate_sgd(LeastSquares(**fields), etas, STEPS, seeds=3000)
    mean, se = risks.mean(0), risks.std(0, ddof=1) / np.sqrt(3000)
    assert verdict(mean, good, kind="standard_error", stderr=se).passed
    from descentlab.theory.sgd_ode import ode_risk

    approx = ode_risk(lam, v0, etas, STEPS, 1, 0.2)
    assert not verdict(mean, approx, kind="standard_error", stderr=se).passed


def test_diagonal_recursion_equals_full_matrix_recursion():
    """Closing on the diagonal is exact: compare with E' = E − η(KE+EK) + η²[(1+1/b)KEK + (tr KE + σ²)K/b]."""
    fields = dict(dim=12, spectrum="power_law", alpha=1.3, teacher="random", noise=0.4, init_scale=0.7)
    lam, v0 = problem_arrays(fields)
    with jax.enable_x64(True):
        theta = np.asarray(LeastSquares(**fields).theta_star, dtype=np.float64)
    K = np.diag(lam)
    E = np.outer(theta, theta) + 0.7**2 / 12 * np.eye(12)
    b, sigma2 = 3, 0.16
    etas = 0.9 * (1 + np.arange(60)) ** -0.3
    full = [0.5 * (np.trace(K @ E) + sigma2)]
    for eta in etas:
        E = E - eta * (K @ E + E @ K) + eta**2 * ((1 + 1 / b) * K @ E @ K + (np.trace(K @ E) + sigma2) / b * K)
        full.append(0.5 * (np.trace(K @ E) + sigma2))
    diag = exact_risk(lam, v0, etas, np.arange(61), b, 0.4)
    np.testing.assert_allclose(diag, np.array(full), rtol=1e-12)


def test_prediction_entry_validates_and_keeps_grid():
    entry = PREDICTIONS.get("sgd_least_squares")
    out = entry.predict(np.array([0, 3, 7]), dim=10)
    assert set(out) == {"risk", "excess_risk"} and out["risk"].shape == (3,)
    assert out["risk"][0] == pytest.approx(0.5)  # θ*ᵀKθ* = 1, θ₀ = 0
    with pytest.raises(ValueError, match="learning_rate"):
        entry.predict(np.array([0, 1]), learning_rate=-1.0)
    with pytest.raises(ValueError, match="unknown parameter"):
        entry.predict(np.array([0, 1]), lr=0.1)
