"""Scaling-law exponents against the exact SGD risk (time) and the exact random-feature floor (size)."""

from __future__ import annotations

import numpy as np
import pytest

from descentlab.theory import PREDICTIONS, verdict
from descentlab.theory.scaling_laws import scaling_exponents


@pytest.mark.parametrize("b,beta,lr,window", [(1.5, 0.5, 0.05, (30, 3000)), (2.0, 0.3, 0.5, (300, 30000))])
def test_time_exponent_matches_exact_sgd_risk(b, beta, lr, window):
    """Least squares, λ_k ∝ k^-b, θ*_k² ∝ k^-β (a = b + β): E risk ∝ t^-(a-1)/b before d saturates."""
    steps = np.unique(np.geomspace(1, window[1], 60).astype(int))
    risk = PREDICTIONS.get("sgd_least_squares").predict(
        steps,
        dim=4000,
        spectrum="power_law",
        alpha=b,
        teacher="power_law",
        teacher_decay=beta,
        normalize="max",
        learning_rate=lr,
    )["excess_risk"]
    predicted = -PREDICTIONS.get("scaling_law").predict(steps[:1], spectrum_exponent=b, task_exponent=b + beta)[
        "time_exponent"
    ][0]
    v = verdict(risk, predicted, kind="exponent", steps=steps, window=window, tolerance=0.03)
    assert v.passed, v.line()


def test_time_exponent_is_wrong_when_the_spectrum_is_misread():
    steps = np.unique(np.geomspace(1, 3000, 60).astype(int))
    risk = PREDICTIONS.get("sgd_least_squares").predict(
        steps,
        dim=4000,
        spectrum="power_law",
        alpha=1.5,
        teacher="power_law",
        teacher_decay=0.5,
        normalize="max",
        learning_rate=0.05,
    )["excess_risk"]
    wrong = -scaling_exponents(1.0, 2.0).time  # b = 1 instead of 1.5
    assert not verdict(risk, wrong, kind="exponent", steps=steps, window=(30, 3000), tolerance=0.03).passed


def test_size_exponent_matches_the_random_feature_floor():
    """PLRF (b = 2α, a = 2α + 2β): f*(N) − σ²/2 ∝ N^-min(a-1, b); α = 1, β = 0.2 gives 1.4.

    The floor ½‖(I − QQᵀ)D^{1/2}b‖² is computed as in problems/random_features.py (same W for seed 0).
    """
    ns = np.array([32, 64, 128, 256])
    v_dim, j = 4000, np.arange(1, 4001, dtype=np.float64)
    target = j**-1.0 * j**-0.2  # D^{1/2} b with D = diag(j^-2α), b_j = j^-β
    floors = []
    for n in ns:
        w = np.random.default_rng(0).standard_normal((v_dim, n)) / np.sqrt(n)
        q, _ = np.linalg.qr(j[:, None] ** -1.0 * w)
        floors.append(0.5 * np.sum((target - q @ (q.T @ target)) ** 2))
    floors = np.array(floors)
    predicted = -scaling_exponents(2.0, 2.4).size
    v = verdict(floors, predicted, kind="exponent", steps=ns, tolerance=0.1)
    assert v.passed, v.line()
