"""PEP predictions against closed forms (Drori–Teboulle, the 1-D quadratic, PEPit's documented value) and against
simulated runs in the class; the classical heavy-ball and extragradient bounds they are drawn next to."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from descentlab.theory import PREDICTIONS
from descentlab.theory import pep as pep_module

SOLVER_RTOL = 1e-6  # Clarabel's dual value is within ~1e-8 relative of the closed forms here


def predict(name: str, steps, **params) -> dict[str, np.ndarray]:
    return PREDICTIONS.get(name).predict(np.asarray(steps), **params)


@pytest.mark.parametrize("smoothness,h", [(1.0, 1.0), (2.0, 1.0), (1.0, 0.5)])
def test_gd_smooth_convex_matches_drori_teboulle(smoothness, h):
    steps = np.array([0, 1, 2, 5, 10])
    r2 = 3.0
    got = predict("pep_gd", steps, smoothness=smoothness, learning_rate=h / smoothness, initial_value=r2)
    expected = smoothness * r2 / (4 * steps * h + 2)  # at N = 0 this is L R²/2, the closed form used there
    np.testing.assert_allclose(got["suboptimality"], expected, rtol=SOLVER_RTOL)


@pytest.mark.parametrize("step", [1.0, 1.9])  # |1 − γμ| dominates at γ = 1, |1 − γL| at γ = 1.9
def test_gd_strongly_convex_distance_is_the_contraction_factor(step):
    steps = np.array([0, 1, 3, 6])
    got = predict(
        "pep_gd", steps, smoothness=1.0, strong_convexity=0.1, learning_rate=step, measure="distance", initial_value=2.0
    )
    factor = max(abs(1 - step), abs(1 - 0.1 * step))
    np.testing.assert_allclose(got["distance_sq"], 2.0 * factor ** (2 * steps), rtol=SOLVER_RTOL)
    np.testing.assert_allclose(got["distance"], np.sqrt(got["distance_sq"]))


def test_heavy_ball_matches_pepit_documented_value_and_reduces_to_gd():
    beta = np.sqrt((1 - 0.5 * 0.1) * (1 - 0.5))
    got = predict(
        "pep_heavy_ball",
        [2],
        smoothness=1.0,
        strong_convexity=0.1,
        learning_rate=0.5,
        momentum=beta,
        initial="suboptimality",
    )["suboptimality"]
    np.testing.assert_allclose(got, [0.7534930], rtol=1e-6)  # PEPit's heavy_ball_momentum example (n = 2)
    plain = dict(smoothness=1.0, strong_convexity=0.1, learning_rate=0.7, measure="distance")
    np.testing.assert_allclose(
        predict("pep_heavy_ball", [1, 3], momentum=0.0, **plain)["distance_sq"],
        predict("pep_gd", [1, 3], **plain)["distance_sq"],
        rtol=SOLVER_RTOL,
    )


def _simulate(method: str, grad, x0: np.ndarray, steps: int, step: float, momentum: float = 0.0) -> list[np.ndarray]:
    xs, x, previous = [x0], x0, x0
    for _ in range(steps):
        if method == "heavy_ball":
            x, previous = x - step * grad(x) + momentum * (x - previous), x
        elif method == "extragradient":
            x = x - step * grad(x - step * grad(x))
        else:
            x = x - step * grad(x)
        xs.append(x)
    return xs


@pytest.mark.parametrize("method", ["gd", "heavy_ball", "extragradient"])
def test_random_functions_in_the_class_stay_under_the_pep_bound_and_the_bound_is_not_loose(method):
    """Quadratics with eigenvalues in [μ, L] and log-sum-exp-regularised functions: every run under τ_N; and the
    worst of the 1-D quadratics comes within 60 % of it (the PEP is not a loose bound)."""
    rng = np.random.default_rng(1)
    mu, big_l, step, beta, n = 0.1, 1.0, 0.5, 0.6, 6
    name = {"gd": "pep_gd", "heavy_ball": "pep_heavy_ball", "extragradient": "pep_extragradient"}[method]
    extra = {"momentum": beta} if method == "heavy_ball" else {}
    tau = predict(name, [n], smoothness=big_l, strong_convexity=mu, learning_rate=step, measure="distance", **extra)
    tau = float(tau["distance_sq"][0])
    worst = 0.0
    for _ in range(40):
        eig = rng.uniform(mu, big_l, size=4)
        q, _ = np.linalg.qr(rng.standard_normal((4, 4)))
        a = q @ np.diag(eig) @ q.T
        x0 = rng.standard_normal(4)
        xs = _simulate(method, lambda x, a=a: a @ x, x0, n, step, beta)
        worst = max(worst, float(xs[-1] @ xs[-1] / (x0 @ x0)))
    for curvature in np.linspace(mu, big_l, 50):
        xs = _simulate(method, lambda x, c=curvature: c * x, np.ones(1), n, step, beta)
        worst = max(worst, float(xs[-1] @ xs[-1]))
    # a non-quadratic member of the class: μ/2‖x‖² + (L − μ)·softplus-type smooth convex term
    w = rng.standard_normal(4)

    def grad(x):
        z = w @ x
        return mu * x + (big_l - mu) / (w @ w) * np.tanh(z) * w  # log cosh(z)/‖w‖²: curvature ≤ 1 along w

    for _ in range(20):
        x0 = 3 * rng.standard_normal(4)
        xs = _simulate(method, grad, x0, n, step, beta)
        worst = max(worst, float(xs[-1] @ xs[-1] / (x0 @ x0)))
    assert worst <= tau * (1 + SOLVER_RTOL)
    assert worst >= 0.4 * tau


def test_pep_is_under_the_classical_heavy_ball_and_extragradient_bounds():
    steps = np.array([1, 2, 4])
    beta = np.sqrt((1 - 0.5 * 0.1) * (1 - 0.5))
    cls = dict(smoothness=1.0, strong_convexity=0.1, learning_rate=0.5)
    hb = predict("pep_heavy_ball", steps, momentum=beta, initial="suboptimality", **cls)["suboptimality"]
    hb_classical = predict("heavy_ball_strongly_convex", steps, momentum=beta, **cls)["suboptimality"]
    np.testing.assert_allclose(hb_classical, 0.95**steps)
    assert np.all(hb <= hb_classical)
    eg = predict("pep_extragradient", steps, measure="distance", **cls)["distance_sq"]
    eg_classical = predict("extragradient_strongly_convex", steps, **cls)["distance_sq"]
    assert np.all(eg <= eg_classical)


def test_extragradient_classical_bound_holds_on_quadratics_and_is_violated_past_its_step():
    """(1 − γμ)^t on quadratics with eigenvalues in [μ, L] when γ²L² + 2γμ ≤ 1; a step far past it leaves it."""
    mu, big_l = 0.1, 1.0
    for step, holds in ((0.5, True), (2.2, False)):
        bound = predict(
            "extragradient_strongly_convex", [5], smoothness=big_l, strong_convexity=mu, learning_rate=step
        )["distance_sq"][0]
        factors = [(1 - step * c + (step * c) ** 2) ** 10 for c in np.linspace(mu, big_l, 30)]
        assert bool(max(factors) <= bound) is holds


def test_step_zero_closed_forms():
    assert pep_module.worst_case("gd", 0, 2.0, 0.0, 1.0) == 1.0  # L/2 for f-values from the distance
    assert pep_module.worst_case("gd", 0, 2.0, 0.5, 1.0, 0.0, "suboptimality", "distance") == 4.0  # 2/μ
    assert pep_module.worst_case("extragradient", 0, 2.0, 0.5, 1.0, 0.0, "distance", "distance") == 1.0


def test_a_long_grid_or_an_unbounded_problem_is_refused_in_one_line():
    with pytest.raises(ValueError, match="at most 16"):
        predict("pep_gd", np.arange(0, 20))
    with pytest.raises(ValueError, match="gradients"):
        pep_module.worst_case("extragradient", 25, 1.0, 0.0, 1.0)
    past_the_cap = predict("pep_extragradient", [0, 25])["suboptimality"]  # 50 gradients: not computed
    assert past_the_cap[0] == 0.5 and np.isnan(past_the_cap[1])
    with pytest.raises(ValueError, match="unbounded"):
        predict("pep_gd", [1], initial="suboptimality", measure="distance")


def test_missing_pepit_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "PEPit", None)
    with pytest.raises(ImportError, match=r"install descentlab\[pep\]"):
        pep_module._pepit()
