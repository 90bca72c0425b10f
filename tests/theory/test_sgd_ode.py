"""Homogenized SGD (the ODE / Volterra deterministic equivalent) against the exact recursion."""

from __future__ import annotations

import numpy as np
import pytest

from descentlab.theory import PREDICTIONS, verdict
from descentlab.theory.sgd_ode import ode_nodes

STEPS = np.unique(np.concatenate([[0], np.geomspace(1, 20_000, 60).astype(int)]))

REGIME = [
    dict(spectrum="isotropic", learning_rate=1.0, noise=0.1),
    dict(spectrum="zero_one", learning_rate=0.8, noise=0.0, init_scale=1.0),
    dict(spectrum="power_law", alpha=0.5, teacher="power_law", teacher_decay=0.5, learning_rate=1.0, noise=0.2),
    dict(spectrum="power_law", alpha=0.5, learning_rate=1.5, batch_size=4, schedule="cosine", noise=0.1),
    dict(spectrum="two_level", learning_rate=1.0, schedule="step", every=3000, factor=0.3, noise=0.3),
]


@pytest.mark.parametrize("params", REGIME, ids=lambda p: f"{p['spectrum']}-{p.get('schedule', 'constant')}")
def test_ode_matches_exact_recursion_within_one_percent_at_d2000(params):
    exact = PREDICTIONS.get("sgd_least_squares").predict(STEPS, dim=2000, **params)["risk"]
    ode = PREDICTIONS.get("sgd_least_squares_ode").predict(STEPS, dim=2000, **params)["risk"]
    v = verdict(ode, exact, kind="curve", tolerance=0.01)
    assert v.passed, v.line()
    assert exact[-1] < 0.5 * exact[0]  # the curve actually moves


def test_ode_is_not_exact_at_small_d():
    """Outside the regime (d = 10, λ_max ≈ 0.34) the deterministic equivalent is visibly off."""
    params = dict(dim=10, spectrum="power_law", alpha=1.0, learning_rate=1.0)
    steps = np.arange(0, 200, 5)
    exact = PREDICTIONS.get("sgd_least_squares").predict(steps, **params)["risk"]
    ode = PREDICTIONS.get("sgd_least_squares_ode").predict(steps, **params)["risk"]
    assert not verdict(ode, exact, kind="curve", tolerance=0.01).passed


def test_ode_momentum_is_effective_learning_rate():
    """Small-batch momentum in high dimension ≈ SGD at η/(1−β) (Paquette & Paquette 2021)."""
    params = dict(dim=2000, spectrum="power_law", alpha=0.5, learning_rate=0.3, momentum=0.5, noise=0.1)
    exact = PREDICTIONS.get("sgd_least_squares").predict(STEPS, **params)["risk"]
    ode = PREDICTIONS.get("sgd_least_squares_ode").predict(STEPS, **params)["risk"]
    v = verdict(ode, exact, kind="curve", tolerance=0.02)
    assert v.passed, v.line()


def test_ode_grid_is_coarse_and_contains_the_requested_steps():
    steps = np.array([0, 7, 1234, 99_999, 100_000])
    etas = np.full(100_000, 0.5)
    nodes = ode_nodes(steps, etas, 0.005)
    assert set(steps) <= set(nodes.tolist())
    assert nodes.size < 2000
    jumps = ode_nodes(steps, np.where(np.arange(100_000) < 50_001, 0.5, 0.05), 0.005)
    assert 50_001 in set(jumps.tolist())
