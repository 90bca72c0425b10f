"""AdaGrad-Norm and idealized line search: coupled risk / learning-rate curves against simulation."""

from __future__ import annotations

import numpy as np
import pytest

from descentlab.problems.least_squares import LeastSquares
from descentlab.theory import PREDICTIONS, verdict
from tests.theory._simulate_adaptive import simulate_adagrad_norm, simulate_line_search

ADAGRAD = PREDICTIONS.get("adagrad_norm_least_squares")


@pytest.mark.parametrize("spectrum", ["isotropic", "power_law"])
def test_adagrad_norm_limiting_learning_rate_matches_simulation(spectrum):
    p = dict(dim=200, spectrum=spectrum, alpha=0.5)
    risk, gamma = simulate_adagrad_norm(LeastSquares(**p), 3.0, 1e-2, 6000, seeds=4)
    limit = ADAGRAD.predict(np.array([10**6]), learning_rate=3.0, **p)["learning_rate"][0]
    assert risk.mean(0)[-1] < 1e-2 * risk.mean(0)[0]  # the sum of squared gradients has (nearly) converged
    v = verdict(gamma.mean(0)[-1], limit, kind="threshold", tolerance=0.05)
    assert v.passed, v.line()
    # the whole learning-rate and risk curves too, away from the random first steps
    steps = np.array([100, 300, 1000, 3000, 6000])
    pred = ADAGRAD.predict(steps, learning_rate=3.0, **p)
    assert verdict(gamma.mean(0)[steps - 1], pred["learning_rate"][:], kind="curve", tolerance=0.05).passed
    assert verdict(risk.mean(0)[steps[:3] - 1], pred["risk"][:3], kind="curve", tolerance=0.05).passed


def test_adagrad_norm_limit_closed_form_and_inverse_average_eigenvalue():
    """Small η: γ∞ ≈ η/(b₀ + tr(K)‖e₀‖²/(4bη)); at fixed ‖e₀‖, γ∞ ∝ 1/λ̄ (scaling K by c divides γ∞ by c)."""
    steps = np.array([4 * 10**6])
    out = ADAGRAD.predict(steps, dim=300, spectrum="isotropic", learning_rate=1.0)
    v = verdict(out["learning_rate"][0], out["limit_learning_rate_closed_form"][0], kind="threshold", tolerance=0.05)
    assert v.passed, v.line()
    from descentlab.theory._least_squares import problem_arrays
    from descentlab.theory.adaptive_least_squares import adagrad_norm_curves

    lam, v0 = problem_arrays(dict(dim=300, spectrum="power_law", alpha=0.5))
    # K → cK with θ* fixed (same ‖e₀‖); time runs c times faster, so compare the limits at long times
    g1 = adagrad_norm_curves(lam, v0, steps, 1.0, 1e-2)["learning_rate"][0]
    g4 = adagrad_norm_curves(4 * lam, v0, steps, 1.0, 1e-2)["learning_rate"][0]
    assert verdict(g1 / g4, 4.0, kind="threshold", tolerance=0.05).passed


def test_line_search_matches_simulation():
    p = dict(dim=1000, spectrum="two_level", noise=0.1)
    risk, gamma = simulate_line_search(LeastSquares(**p), 400, seeds=8)
    steps = np.array([10, 30, 100, 200, 400])
    pred = PREDICTIONS.get("line_search_least_squares").predict(steps, **p)
    v = verdict(risk.mean(0)[steps - 1], pred["risk"], kind="curve", tolerance=0.05)
    assert v.passed, v.line()
    assert verdict(gamma.mean(0)[steps[:-1]], pred["learning_rate"][:-1], kind="curve", tolerance=0.05).passed


def test_line_search_rate_is_the_greedy_minimiser():
    """One step of the exact recursion from the same state: γ* beats γ*(1 ± 10 %)."""
    from descentlab.theory._least_squares import problem_arrays
    from descentlab.theory.adaptive_least_squares import line_search_curves
    from descentlab.theory.sgd_exact import exact_risk

    lam, v0 = problem_arrays(dict(dim=50, spectrum="power_law", noise=0.2))
    gamma = line_search_curves(lam, v0, np.array([0, 1]), 1, 0.2)["learning_rate"][0]
    best = exact_risk(lam, v0, np.array([gamma]), np.array([1]), 1, 0.2)[0]
    for factor in (0.9, 1.1):
        assert exact_risk(lam, v0, np.array([factor * gamma]), np.array([1]), 1, 0.2)[0] > best


@pytest.mark.parametrize("spectrum", ["isotropic", "power_law", "zero_one"])
def test_adagrad_norm_limit_from_the_conserved_quantity_matches_the_long_recursion(spectrum):
    """γ∞ from the state at T = 3000 (the study's quick horizon) equals the recursion run to 10⁵ steps
    (settled by then to 10⁻⁹)."""
    from descentlab.theory._least_squares import problem_arrays
    from descentlab.theory.adaptive_least_squares import adagrad_norm_curves

    lam, v0 = problem_arrays(dict(dim=100, spectrum=spectrum, alpha=0.5))
    at_horizon = adagrad_norm_curves(lam, v0, np.array([3000]), 2.0, 1e-2)
    long_run = adagrad_norm_curves(lam, v0, np.array([10**5]), 2.0, 1e-2)["learning_rate"][0]
    assert at_horizon["limit_learning_rate"][0] == pytest.approx(long_run, rel=1e-3)
    if spectrum != "zero_one":  # (zero-one has settled by T; the others have not, so the limit is not γ_T)
        assert at_horizon["learning_rate"][0] > long_run * (1 + 2e-4)


def test_power_law_exponent_phases():
    from descentlab.theory.adaptive_least_squares import adagrad_norm_power_law_exponent as exponent

    assert exponent(2.0, 0.0) == pytest.approx(-1 / 3)
    assert exponent(2.0, 0.5) == pytest.approx(-0.2)
    assert exponent(2.0, 2.0) == 0.0
    assert exponent(0.5, 0.9) == pytest.approx(-0.1 / 0.6)
    for alpha, beta in [(2.0, 1.0), (0.5, 0.4), (0.0, 2.0)]:
        with pytest.raises(ValueError):
            exponent(alpha, beta)


@pytest.mark.parametrize("beta", [0.0, 0.5, 2.0])
def test_recursion_tail_exponent_approaches_the_power_law_prediction(beta):
    """The high-line recursion itself (d = 2000, α = 2, η = 0.25) on both sides of β = 1: the log-log slope of
    γ_t over [T/10, T] moves towards the predicted exponent as T grows and is within 0.02 of it at T = 10⁵."""
    from descentlab.theory._least_squares import problem_arrays
    from descentlab.theory.adaptive_least_squares import adagrad_norm_curves, adagrad_norm_power_law_exponent

    lam, v0 = problem_arrays(dict(dim=2000, spectrum="power_law", alpha=2.0, teacher="power_law", teacher_decay=beta))
    steps = np.unique(np.geomspace(1, 10**5, 200).astype(int))
    gamma = adagrad_norm_curves(lam, v0, steps, 0.25, 1e-2)["learning_rate"]

    def slope(horizon: int) -> float:
        tail = (steps >= horizon // 10) & (steps <= horizon)
        return np.polyfit(np.log(steps[tail]), np.log(gamma[tail]), 1)[0]

    predicted = adagrad_norm_power_law_exponent(2.0, beta)
    assert abs(slope(10**5) - predicted) < 0.02
    assert abs(slope(10**5) - predicted) <= abs(slope(10**4) - predicted)


def _two_level(dim: int, ratio: float, low_fraction: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    from descentlab.theory._least_squares import problem_arrays

    return problem_arrays(
        {"dim": dim, "spectrum": "two_level", "low_fraction": low_fraction, "low_value": ratio, "teacher": "flat"}
    )


@pytest.mark.parametrize(("ratio", "low_fraction"), [(0.25, 0.5), (0.125, 0.5), (0.1, 0.25)])
def test_line_search_two_level_limit_is_the_long_recursion_at_large_d(ratio, low_fraction):
    """The recursion's γ_t at d = 2000, run until it settles, is the high-dimensional limit to 0.2 %, and the
    gap shrinks like 1/d (d = 250 → 2000: eight times smaller, within a factor 1.5)."""
    from descentlab.theory.adaptive_least_squares import line_search_curves, line_search_two_level_limit

    gaps = {}
    for dim in (250, 2000):
        lam, v0 = _two_level(dim, ratio, low_fraction)
        steps = np.array([0, 200 * dim])
        gamma = line_search_curves(lam, v0, steps)["learning_rate"][-1]
        gaps[dim] = gamma / line_search_two_level_limit(lam) - 1.0
    assert abs(gaps[2000]) < 2e-3
    assert 8.0 / 1.5 < gaps[250] / gaps[2000] < 8.0 * 1.5


def test_line_search_two_level_limit_bounds_and_inputs():
    """b λ₂/Σλ² < γ∞ < b λ₁/Σλ², γ∞ ∝ b; one or three distinct eigenvalues are refused."""
    from descentlab.theory.adaptive_least_squares import line_search_two_level_limit

    for ratio in (0.5, 0.1, 0.01):
        lam, _ = _two_level(100, ratio)
        limit = line_search_two_level_limit(lam)
        assert lam.min() / np.sum(lam**2) < limit < lam.max() / np.sum(lam**2)
        assert line_search_two_level_limit(lam, batch_size=4) == pytest.approx(4 * limit)
    with pytest.raises(ValueError, match="two distinct"):
        line_search_two_level_limit(np.full(10, 0.1))
    with pytest.raises(ValueError, match="two distinct"):
        line_search_two_level_limit(np.array([1.0, 2.0, 3.0]))
