"""logistic-gmm at --quick size: the ODE locates the clean-direction transition in the power-law exponent and
describes the risk and the overlaps; the verdict logic rejects a missing or shifted transition and off curves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from descentlab.store import Store
from descentlab.studies import StudyOptions, run_study
from descentlab.studies.logistic_gmm import (
    ALPHAS,
    CHECK_OVERLAPS,
    CHECK_RISK,
    CHECK_TRANSITION,
    LogisticGMM,
    bootstrap_spread,
    crossing,
    curve_errors,
    judge,
    transition_gap,
)


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    return run_study("logistic-gmm", Store(tmp_path_factory.mktemp("store")), StudyOptions(quick=True), report=False)


def test_quick_study_passes_every_check(outcome):
    verdicts = outcome.analysis.verdicts
    assert [v.check for v in verdicts] == [c.name for c in LogisticGMM.checks]
    for v in verdicts:
        assert v.passed, v.line()
    table = outcome.analysis.summary
    assert table["share ODE"].iloc[0] < 0.5 < table["share ODE"].iloc[-1]
    assert table["share sim"].iloc[0] < 0.5 < table["share sim"].iloc[-1]
    assert np.all(np.diff(table["share ODE"]) > 0)  # the clean share grows with α
    assert len(outcome.analysis.figures) == 3


def test_crossing_interpolates_the_first_upward_crossing():
    alphas = np.array([0.0, 0.25, 0.5, 0.75])
    assert crossing(alphas, np.array([0.4, 0.45, 0.55, 0.6])) == pytest.approx(0.375)
    assert crossing(alphas, np.array([0.5, 0.6, 0.7, 0.8])) != crossing(alphas, np.array([0.4, 0.6, 0.7, 0.8]))
    assert np.isnan(crossing(alphas, np.array([0.40, 0.42, 0.44, 0.46])))  # no transition in the grid
    assert np.isnan(crossing(alphas, np.array([0.6, 0.55, 0.45, 0.4])))  # only a downward crossing


def test_gap_is_infinite_without_a_crossing():
    assert transition_gap(0.3, 0.35) == pytest.approx(0.05)
    assert transition_gap(float("nan"), 0.35) == float("inf")
    assert transition_gap(0.3, float("nan")) == float("inf")


def synthetic_table(sim_shift: float = 0.0, risk_err: float = 0.005, overlap_err: float = 0.005) -> pd.DataFrame:
    alphas = np.asarray(ALPHAS)
    share = 0.43 + 0.2 * alphas
    return pd.DataFrame(
        {
            "alpha": alphas,
            "share sim": 0.43 + 0.2 * (alphas + sim_shift),
            "share ODE": share,
            "risk err": risk_err,
            "overlap err": overlap_err,
        }
    )


def test_judge_passes_matching_numbers_and_fails_each_broken_claim():
    headline, risk, overlaps = judge(synthetic_table(), spread=0.01)
    assert headline.passed and risk.passed and overlaps.passed
    assert headline.figure == pytest.approx(0.0, abs=1e-12)
    shifted = judge(synthetic_table(sim_shift=0.1), spread=0.01)[0]  # a transition 0.1 lower in the simulation
    assert not shifted.passed and shifted.figure == pytest.approx(0.1)
    inside = judge(synthetic_table(sim_shift=0.5 * CHECK_TRANSITION.tolerance), spread=0.01)[0]
    assert inside.passed
    flat = synthetic_table()
    flat["share sim"] = 0.43  # no transition (isotropic K)
    assert judge(flat, spread=0.01)[0].figure == float("inf")
    assert not judge(synthetic_table(risk_err=2 * CHECK_RISK.tolerance), spread=0.01)[1].passed
    assert not judge(synthetic_table(overlap_err=2 * CHECK_OVERLAPS.tolerance), spread=0.01)[2].passed


def test_curve_errors_measure_relative_risk_and_scaled_overlaps():
    steps = np.array([0, 100, 200, 400])
    predicted = {
        "risk": np.array([0.69, 0.6, 0.5, 0.4]),
        "overlap_mean": np.array([0.0, 0.5, 1.0, 2.0]),
        "overlap_clean": np.array([0.0, 0.2, 0.45, 0.95]),
        "overlap_noisy": np.array([0.0, 0.3, 0.55, 1.05]),
    }
    measured = {k: v.copy() for k, v in predicted.items()}
    measured["risk"][0] = 5.0  # before `start`: ignored
    measured["risk"][2] *= 1.1
    measured["overlap_clean"][3] += 0.2
    risk, overlap = curve_errors(measured, predicted, steps, start=100)
    assert risk == pytest.approx(0.1)
    assert overlap == pytest.approx(0.1)  # 0.2 / a(T) = 2


def test_bootstrap_resamples_seeds_jointly_across_alpha():
    rng = np.random.default_rng(1)
    offsets = rng.normal(0, 0.01, 16)  # each seed's error, shared by every α
    rows = [
        {"alpha": a, "seed": s, "clean": 0.43 + 0.2 * a + offsets[s], "total": 1.0} for a in ALPHAS for s in range(16)
    ]
    spread = bootstrap_spread(pd.DataFrame(rows))
    expected = 0.01 / np.sqrt(16) / 0.2  # a shared offset of one standard error moves α* by it over the slope
    assert 0.5 * expected < spread < 2.0 * expected
