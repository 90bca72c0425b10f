"""nonsmooth_gd: the ℓ1 plateau and the pseudo-Huber 2-cycle against direct GD simulation (float64)."""

from __future__ import annotations

import numpy as np
import pytest

from descentlab.theory import PREDICTIONS
from descentlab.theory.nonsmooth_gd import l1_coordinate, pseudo_huber_cycle, smooth_bound


def test_l1_coordinate_is_the_gd_trajectory():
    a = np.asarray([0.0, 0.03, 0.37, 1.234, 2.55])  # not multiples of η (floating-point ties)
    eta, steps = 0.1, np.arange(40)
    x, out = a.copy(), []
    for _ in steps:
        out.append(np.abs(x))
        x = x - eta * np.sign(x)
    np.testing.assert_allclose(l1_coordinate(a, steps, eta), np.asarray(out), atol=1e-12)


def test_l1_gd_expectation_matches_simulation_and_the_plateau_is_exact():
    steps = np.asarray([0, 1, 5, 20, 40, 100, 101, 300])
    eta, dim, scale = 0.05, 10, 1.0
    pred = PREDICTIONS.get("l1_gd").predict(steps, learning_rate=eta, dim=dim, init_scale=scale)
    x = scale * np.random.default_rng(0).standard_normal((40_000, dim))
    sims = {}
    for t in range(steps.max() + 1):
        sims[t] = np.abs(x).sum(1)
        x = x - eta * np.sign(x)
    mean = np.asarray([sims[t].mean() for t in steps])
    stderr = np.asarray([sims[t].std() / np.sqrt(len(sims[t])) for t in steps])
    assert np.all(np.abs(mean - pred["suboptimality"]) < 4 * stderr + 1e-9)
    # two consecutive late steps of every run average to exactly dη/2
    np.testing.assert_allclose((sims[299] + sims[300]) / 2, dim * eta / 2, rtol=1e-9)
    assert pred["plateau"][-1] == pytest.approx(dim * eta / 2)
    assert pred["smooth_bound"][-1] == pytest.approx(dim * scale**2 / (2 * eta * 300))


@pytest.mark.parametrize("eta", [0.05, 0.1, 0.4])
def test_pseudo_huber_gd_ends_on_the_predicted_cycle(eta):
    eps = 0.02
    x = np.random.default_rng(1).standard_normal(200)
    for _ in range(4000):
        x = x - eta * x / np.sqrt(x**2 + eps**2)
    cycle = pseudo_huber_cycle(eta, eps)
    np.testing.assert_allclose(np.abs(x), cycle["amplitude"], rtol=1e-9)
    sharpness = eps**2 / (x**2 + eps**2) ** 1.5
    np.testing.assert_allclose(sharpness, cycle["sharpness"], rtol=1e-8)
    assert cycle["sharpness"] == pytest.approx(2 / eta * (2 * eps / eta) ** 2)
    assert cycle["sharpness"] < 2 / eta < 1 / eps  # unstable minimizer, yet below the edge of stability
    pred = PREDICTIONS.get("pseudo_huber_gd").predict(np.asarray([0, 10]), learning_rate=eta, smoothing=eps, dim=3)
    assert pred["suboptimality"][0] == pytest.approx(3 * (eta / 2 - eps))


def test_pseudo_huber_gd_converges_below_twice_the_smoothing():
    eps, eta = 0.1, 0.15
    x = np.random.default_rng(2).standard_normal(50)
    for _ in range(3000):
        x = x - eta * x / np.sqrt(x**2 + eps**2)
    assert np.max(np.abs(x)) < 1e-12
    assert pseudo_huber_cycle(eta, eps) == {"amplitude": 0.0, "sharpness": 1 / eps, "loss": 0.0}


def test_smooth_bound_is_infinite_at_the_start():
    assert np.isinf(smooth_bound(0.1, 1.0, np.asarray([0]))[0])
