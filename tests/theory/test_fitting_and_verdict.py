"""Rate fitting (with confidence intervals), thresholds, and the verdict line."""

from __future__ import annotations

import numpy as np
import pytest

from descentlab.theory import PREDICTIONS, Verdict, fit_linear_rate, fit_power_law, time_to_threshold, verdict


def test_power_law_fit_recovers_exponent_and_interval_covers_it():
    rng = np.random.default_rng(0)
    t = np.unique(np.geomspace(1, 1e4, 60).astype(int))
    y = 3.0 * t**-0.7 * np.exp(0.05 * rng.standard_normal(t.size))
    fit = fit_power_law(t, y, window=(10, 1e4))
    assert abs(fit.value + 0.7) < 0.02
    assert fit.high - fit.low < 0.05
    # the 95 % interval covers the true exponent in about 95 % of repeated experiments
    covered = 0
    for _ in range(300):
        noisy = 3.0 * t**-0.7 * np.exp(0.05 * rng.standard_normal(t.size))
        f = fit_power_law(t, noisy, window=(10, 1e4))
        covered += f.low < -0.7 < f.high
    assert 0.90 <= covered / 300 <= 0.99
    exact = fit_power_law(t, 2.0 * t**-1.5)
    assert exact.value == pytest.approx(-1.5, abs=1e-12)
    assert fit.n < t.size  # the window dropped points


def test_linear_rate_and_time_to_threshold():
    t = np.arange(0, 200, 5)
    y = 2.0 * 0.97**t
    fit = fit_linear_rate(t, y)
    assert fit.value == pytest.approx(0.97, rel=1e-12)
    hit = time_to_threshold(t, y, 2.0 * 0.97**101)
    assert hit == pytest.approx(101.0, rel=1e-9)  # log-linear interpolation is exact for a geometric curve
    assert time_to_threshold(t, y, 1e-30) == float("inf")
    assert time_to_threshold(t, y, 5.0) == 0.0


def test_fit_rejects_too_few_points():
    with pytest.raises(ValueError, match="at least 3"):
        fit_power_law(np.array([1, 2, 3]), np.array([1.0, 0.5, 0.3]), window=(2, 3))


def test_verdict_line_format_and_kinds():
    v = verdict(np.array([1.0, 0.5, 0.26]), np.array([1.0, 0.5, 0.25]), kind="curve", tolerance=0.05)
    assert isinstance(v, Verdict) and v.passed and v.figure == pytest.approx(0.04)
    assert v.line() == "verdict: pass 0.04 (max relative error over the curve, tolerance 0.05)"
    bad = verdict(np.array([1.0, np.nan]), np.array([1.0, 1.0]))
    assert not bad.passed and bad.line().startswith("verdict: fail inf")
    t = np.geomspace(1, 1000, 30)
    assert verdict(t**-0.52, -0.5, kind="exponent", steps=t, tolerance=0.05).passed
    assert not verdict(t**-0.7, -0.5, kind="exponent", steps=t, tolerance=0.05).passed
    assert verdict(1.03, 1.0, kind="threshold").passed and not verdict(1.2, 1.0, kind="threshold").passed
    under = verdict(np.array([1.0, 2.0, 3.0]), np.array([1.5, 2.5, 2.9]), kind="bound", tolerance=0.0)
    assert not under.passed and under.figure == pytest.approx(2 / 3)
    assert verdict(np.array([1.0, 5.0]), np.array([np.inf, np.nan]), kind="bound").passed  # NaN = not stated
    z = verdict(np.array([1.0, 2.1]), np.array([1.0, 2.0]), kind="standard_error", stderr=np.array([0.0, 0.05]))
    assert z.passed and z.figure == pytest.approx(2.0)  # the exact first point (se = 0) counts as agreement
    assert not verdict(np.array([2.2]), np.array([2.0]), kind="standard_error", stderr=np.array([0.05])).passed
    with pytest.raises(ValueError, match="unknown verdict kind"):
        verdict(1.0, 1.0, kind="nope")


def test_every_prediction_is_documented_and_runs_with_defaults():
    assert len(PREDICTIONS.names()) >= 10
    for name, entry in PREDICTIONS.items():
        assert entry.summary and entry.reference and entry.kind in ("exact", "limit", "bound")
        steps = np.array([0, 1, 10, 100])
        out = entry.predict(steps)
        assert out, name
        for curve in out.values():
            assert curve.shape == steps.shape and curve.dtype == np.float64
        assert set(entry.metrics) <= set(out), (name, entry.metrics)
