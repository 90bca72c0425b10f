"""minimax-dynamics: the study passes at --quick (one run), and its verdict logic rejects wrong inputs."""

from __future__ import annotations

import numpy as np
import pytest

from descentlab.studies.base import StudyOptions, run_study
from descentlab.studies.minimax_dynamics import (
    CHECK_RATES,
    late_rate,
    outcome_mismatches,
    rate_error,
)


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    store = tmp_path_factory.mktemp("minimax-dynamics")
    return run_study("minimax-dynamics", store, StudyOptions(quick=True), report=False)


def test_quick_study_passes(outcome):
    verdicts = outcome.analysis.verdicts
    assert [v.check for v in verdicts] == ["spectral-rates", "gda-step-threshold", "ratio-threshold"]
    assert all(v.passed for v in verdicts), [str(v) for v in verdicts]
    table = outcome.analysis.summary
    assert set(table["cell"]) >= {"bilinear-gda", "bilinear-eg", "bilinear-ogd", "quadratic-alternating"}
    # GDA spirals out on the bilinear game, EG and OGD converge
    rho = dict(zip(table["cell"], table["ρ̂"], strict=False))
    assert rho["bilinear-gda"] > 1.0 > max(rho["bilinear-eg"], rho["bilinear-ogd"])


def test_late_rate_recovers_a_geometric_curve():
    steps = np.arange(0, 301, 5)
    assert late_rate(steps, 3.0 * 0.97**steps, 300) == pytest.approx(0.97, rel=1e-12)
    assert np.isnan(late_rate(steps, np.full(steps.shape, np.nan), 300))


def test_rate_error_rejects_wrong_rates():
    predicted = np.array([0.97, 1.044])
    assert np.all(rate_error(predicted, predicted) < 1e-12)
    # a method that diverges where it should converge, or a 10 % wrong log-rate, fails the headline tolerance
    assert rate_error(np.array([1.015]), np.array([0.97]))[0] > CHECK_RATES.tolerance
    assert rate_error(np.array([0.97**1.1]), np.array([0.97]))[0] > CHECK_RATES.tolerance
    assert rate_error(np.array([np.nan]), np.array([0.97]))[0] == np.inf
    verdict = CHECK_RATES.verdict(float(np.max(rate_error(np.array([0.97**1.1]), np.array([0.97])))))
    assert not verdict.passed


def test_outcome_mismatches_counts_wrong_sides():
    initial = np.ones(4)
    final = np.array([0.1, 0.5, 2.0, np.nan])
    assert outcome_mismatches(initial, final, np.array([True, True, False, False])) == 0
    assert outcome_mismatches(initial, final, np.array([True, True, True, True])) == 2
    assert outcome_mismatches(initial, final, np.array([False, False, False, True])) == 3
