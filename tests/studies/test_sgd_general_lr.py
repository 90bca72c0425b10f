"""sgd-general-lr: the study passes at --quick and its verdict logic rejects wrong inputs.

The must-fail controls run in test_controls.py."""

from __future__ import annotations

import numpy as np
import pytest

from descentlab.store import Store
from descentlab.studies import STUDIES, StudyOptions, run_study
from descentlab.studies.sgd_general_lr import (
    CHECK_NORMALITY,
    CHECK_SLOPE,
    CHECK_VARIANCE,
    SCHEDULE_NAMES,
    curvature_slope,
    ks_statistic,
    variance_z,
    worst,
)

QUICK = StudyOptions(quick=True)


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    return run_study("sgd-general-lr", Store(tmp_path_factory.mktemp("store")), QUICK, report=False)


def test_quick_verdicts_pass(outcome):
    for verdict in outcome.analysis.verdicts:
        assert verdict.passed, verdict.line()
    table = outcome.analysis.summary
    assert set(table["schedule"]) == set(SCHEDULE_NAMES)
    by = table.groupby("schedule")["predicted variance"].mean()
    assert by["linear_decay"] < by["constant"] / 3  # decaying to zero ends far below the constant step


def test_the_constant_step_prediction_fails_the_headline_on_the_same_runs(outcome, tmp_path):
    study = STUDIES.get("sgd-general-lr")()
    options = StudyOptions(quick=True, extra=(("prediction", "constant"),))
    assert not study.analyze(outcome.results, tmp_path, options).verdicts[0].passed


def test_variance_z_detects_a_ten_percent_error_at_four_thousand_seeds():
    mean, var = np.zeros(3), np.ones(3)
    assert np.all(np.abs(variance_z(var, mean, var, 4096)) == 0)
    assert np.all(np.abs(variance_z(1.1 * var, mean, var, 4096)) > CHECK_VARIANCE.tolerance)
    # a mean not yet forgotten widens the standard error: μ² = v gives √(6/n) instead of √(2/n)
    np.testing.assert_allclose(variance_z(np.full(3, 2.0 + np.sqrt(6 / 4096)), np.ones(3), var, 4096), 1.0)


def test_ks_statistic_accepts_normal_and_rejects_heavy_tails_and_a_wrong_scale():
    rng = np.random.default_rng(0)
    assert ks_statistic(rng.standard_normal(4096)) < CHECK_NORMALITY.tolerance
    heavy = rng.standard_t(2.5, 4096) / np.sqrt(2.5 / 0.5)  # unit variance, infinite kurtosis
    assert ks_statistic(heavy) > CHECK_NORMALITY.tolerance
    assert ks_statistic(1.3 * rng.standard_normal(4096)) > CHECK_NORMALITY.tolerance
    assert np.isnan(ks_statistic(np.array([np.nan])))


def test_curvature_slope_tells_linear_decay_from_a_constant_step():
    lam = np.array([1.0, 0.6, 0.35, 0.2])
    assert abs(curvature_slope(lam, 0.01 * lam**-0.5) + 0.5) < 1e-12
    assert abs(curvature_slope(lam, np.full(4, 0.01)) + 0.5) > CHECK_SLOPE.tolerance  # constant: slope 0
    assert abs(curvature_slope(lam, 0.01 / lam) + 0.5) > CHECK_SLOPE.tolerance  # η/λ: slope −1
    assert np.isnan(curvature_slope(lam, np.array([1.0, -1.0, 1.0, 1.0])))


def test_worst_counts_nan_as_a_failure():
    assert worst([0.5, np.nan]) == np.inf
    assert worst([0.5, 1.5]) == 1.5
