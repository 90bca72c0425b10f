"""glm-ode: passes at --quick, and its verdict logic rejects wrong inputs (controls run in test_controls.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from descentlab.store import Store
from descentlab.studies import StudyOptions, run_study
from descentlab.studies.glm_ode import (
    CHECK_EXPONENT,
    CHECK_ODE,
    CHECK_THRESHOLD,
    boundary_spread,
    concentration_exponents,
    divergence_boundary,
    headline_figure,
    threshold_figure,
)


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("store"))
    return run_study("glm-ode", store, StudyOptions(quick=True), report=False)


def test_quick_study_passes_every_check(outcome):
    verdicts = outcome.analysis.verdicts
    assert [v.check for v in verdicts] == ["ode-vs-simulation", "concentration-exponent", "stability-threshold"]
    for v in verdicts:
        assert v.passed, v.line()
    assert 0 < verdicts[0].figure < verdicts[0].tolerance < 0.15
    assert len(outcome.analysis.figures) == 3


def test_divergence_boundary_interpolates_the_half_crossing():
    lrs = np.array([0.1, 0.2, 0.3, 0.4])
    assert divergence_boundary(lrs, np.array([0.0, 0.25, 0.75, 1.0])) == pytest.approx(0.25)
    assert np.isnan(divergence_boundary(lrs, np.zeros(4)))  # never diverges: no boundary, the check fails
    assert np.isnan(divergence_boundary(lrs, np.ones(4)))  # diverges everywhere: boundary below the grid


def test_headline_reads_the_largest_dimension_only():
    rows = pd.DataFrame(
        {
            "dim": [100, 100, 400, 400],
            "max scaled error": [0.5, 0.4, 0.02, 0.03],
            "max scaled stderr": [0.2, 0.2, 0.01, 0.012],
        }
    )
    worst, spread = headline_figure(rows)
    assert (worst, spread) == (0.03, 0.012)
    assert CHECK_ODE.verdict(worst, tolerance=CHECK_ODE.tolerance * spread).passed
    bad = rows.assign(**{"max scaled error": [0.5, 0.4, 0.02, 0.1]})  # a curve 8 standard errors off
    worst, spread = headline_figure(bad)
    assert not CHECK_ODE.verdict(worst, tolerance=CHECK_ODE.tolerance * spread).passed


def _errors(exponent: float) -> pd.DataFrame:
    d = np.array([200.0, 400.0, 800.0])
    rng = np.random.default_rng(0)
    rows = [
        {"task": "logistic", "d_eff": di, "rms": 0.3 * di**exponent * (1 + 0.01 * rng.standard_normal())}
        for di in d
        for _ in range(16)
    ]
    return pd.DataFrame(rows)


def test_concentration_exponent_separates_half_from_zero():
    good = concentration_exponents(_errors(-0.5))["logistic"]
    assert abs(good + 0.5) < 0.02 and CHECK_EXPONENT.verdict(abs(good + 0.5)).passed
    flat = concentration_exponents(_errors(-0.2))["logistic"]  # a bias that does not shrink fast enough
    assert not CHECK_EXPONENT.verdict(abs(flat + 0.5)).passed


def test_threshold_verdict_uses_the_seed_spread():
    """Synthetic seeds whose critical η are spread ±10 % around 0.11: a prediction at the centre passes, one 30 %
    off (the lr-1.3 control's size) fails, and a missing boundary fails."""
    rng = np.random.default_rng(0)
    lrs = np.linspace(0.09, 0.132, 7)
    critical = 0.11 * (1 + 0.1 * rng.standard_normal(256))
    diverged = lrs[:, None] > critical[None, :]
    measured = divergence_boundary(lrs, diverged.mean(axis=1))
    boot = boundary_spread(lrs, diverged, 200)
    assert np.nanstd(boot) / measured == pytest.approx(0.1 * 1.25 / 16, rel=0.5)  # sd of a median of 256
    for predicted, passes in ((0.11, True), (0.11 / 1.3, False)):
        figure, spread = threshold_figure(measured, predicted, boot, np.full(200, predicted))
        assert CHECK_THRESHOLD.verdict(figure, tolerance=CHECK_THRESHOLD.tolerance * spread).passed is passes
    figure, _ = threshold_figure(float("nan"), 0.11, boot, boot)
    assert not CHECK_THRESHOLD.verdict(figure, tolerance=0.1).passed
