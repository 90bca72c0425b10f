"""free-energy: the verdicts pass at --quick; the verdict logic rejects synthetic states that break the claim.
The must-fail controls (full-batch GD, noiseless labels) run in test_controls."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from descentlab.store import Store
from descentlab.studies import StudyOptions, run_study
from descentlab.studies.free_energy import (
    CHECK_MONOTONE,
    CHECK_OP_ZERO,
    checkpoints,
    minimum_verdict,
    monotone_verdict,
    op_zero_verdict,
    sgd_verdict,
    temperatures,
)

QUICK = StudyOptions(quick=True)


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    return run_study("free-energy", Store(tmp_path_factory.mktemp("store")), QUICK, report=False)


def test_quick_verdicts_pass(outcome):
    for verdict in outcome.analysis.verdicts:
        assert verdict.passed, verdict.line()
    summary = outcome.analysis.summary
    up, op = summary[summary.model == "UP"], summary[summary.model == "OP"]
    assert up.resolved.all() and not op.resolved.any()
    assert np.all(np.diff(up["T"]) > 0)


def synthetic_states(lrs, excess, entropy, f_star=0.4, initial=1.5, dim=8) -> pd.DataFrame:
    lrs = np.asarray(lrs, dtype=float)
    return pd.DataFrame(
        {
            "lr": lrs,
            "U": f_star + np.asarray(excess, dtype=float),
            "S": np.asarray(entropy, dtype=float),
            "f_star": f_star,
            "initial_loss": initial,
            "gradient_variance": 0.8,
            "dim": dim,
            "n": 64,
            "batch": 4,
            "excess": np.asarray(excess, dtype=float),
        }
    )


LRS = np.geomspace(0.05, 0.8, 6)


def sgd_like(lrs=LRS):
    """States of an UP model: excess ∝ η, entropy d·log η (consecutive iterates)."""
    return synthetic_states(lrs, 0.05 * lrs, 8 * np.log(lrs))


def test_sgd_like_states_pass_every_up_check():
    up = temperatures(sgd_like())
    assert monotone_verdict(up).passed
    assert minimum_verdict(sgd_like())[0].passed
    assert sgd_verdict(up).passed  # T = 0.05 η / 8 = η·tr C_b/(4d) with tr C_b = 0.8·63/64/4


def test_a_temperature_falling_with_the_learning_rate_fails():
    states = synthetic_states(LRS, 0.5 - 0.02 / LRS, 8 * np.log(LRS))  # U concave in S: T = 0.02/(8η) falls
    up = temperatures(states)
    assert np.all(np.diff(up["T"]) < 0)
    assert not monotone_verdict(up).passed
    assert not minimum_verdict(states)[0].passed


def test_unresolved_or_negative_temperatures_fail_even_if_monotone():
    rounding = synthetic_states(LRS, 1e-9 * LRS, 8 * np.log(LRS))  # excess at float32 rounding
    verdict = monotone_verdict(temperatures(rounding))
    assert verdict.figure == pytest.approx(1.0) and not verdict.passed
    flat = synthetic_states(LRS, np.full(6, 0.01), np.zeros(6))  # no entropy change: T undefined
    assert not monotone_verdict(temperatures(flat)).passed
    negative = synthetic_states(LRS, 0.05 * LRS, -8 * np.log(LRS))
    assert not monotone_verdict(temperatures(negative)).passed


def test_op_check_separates_a_converged_from_a_transient_model():
    up = temperatures(sgd_like())
    converged = temperatures(synthetic_states(LRS, 1e-13 / LRS, -1000 * LRS, f_star=0.0))
    assert op_zero_verdict(up, converged).passed
    transient = temperatures(synthetic_states(LRS, 0.02 / LRS, 30 * np.log(LRS), f_star=0.0))
    verdict = op_zero_verdict(up, transient)
    assert not verdict.passed and verdict.figure > CHECK_OP_ZERO.tolerance


def test_a_wrong_sgd_temperature_scale_fails():
    assert not sgd_verdict(temperatures(synthetic_states(LRS, 0.1 * LRS, 8 * np.log(LRS)))).passed


def test_checkpoints_hold_the_entropy_window_and_the_averaging_span():
    steps = checkpoints(1000, 10, 5)
    assert steps[0] == 0 and steps[-10:] == list(range(991, 1001))
    assert min(s for s in steps if s > 0) == 500 and len(steps) == 1 + 5 + 10
    assert CHECK_MONOTONE.tolerance < 1.0
