"""small-gain-nash: the study passes at --quick (one run), and its verdict logic rejects wrong inputs."""

from __future__ import annotations

import numpy as np
import pytest

from descentlab.studies.base import StudyOptions, run_study
from descentlab.studies.small_gain_nash import (
    CHECK_RATE,
    judge_nonmonotone,
    judge_rate,
    judge_steps,
    measured_rate,
)


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    store = tmp_path_factory.mktemp("small-gain-nash")
    return run_study("small-gain-nash", store, StudyOptions(quick=True), report=False)


def test_quick_study_passes(outcome):
    verdicts = outcome.analysis.verdicts
    assert [v.check for v in verdicts] == ["certified-rate", "non-monotone-certified-converges", "certified-step-bound"]
    assert all(v.passed for v in verdicts), [str(v) for v in verdicts]
    cells = outcome.analysis.summary
    # the grid holds certified games that are not Euclidean monotone, and uncertified steps that still converge
    assert (cells["certified"] & (cells["euclidean margin"] < 0)).any()
    assert (~cells["certified"] & (cells["min measured"] > 0)).any()
    certified = cells[cells["certified"]]
    assert np.all(certified["min measured"] >= certified["certified rate"])


def test_measured_rate_recovers_a_geometric_curve():
    steps = np.arange(0, 2001, 50)
    assert measured_rate(steps, 3.0 * np.exp(-0.004 * steps)) == pytest.approx(0.004, rel=1e-10)
    assert measured_rate(steps, 3.0 * np.exp(0.001 * steps)) == pytest.approx(-0.001, rel=1e-10)
    assert np.isnan(measured_rate(steps, np.full(steps.shape, np.nan)))


def test_headline_rejects_a_rate_below_the_certificate():
    certified = np.array([0.01, 0.002, 0.003])
    mask = np.array([True, True, False])
    assert judge_rate(np.array([0.012, 0.0021, 0.0]), certified, mask).passed  # uncertified entry ignored
    assert not judge_rate(np.array([0.012, 0.0019, 0.01]), certified, mask).passed  # 5 % slower than certified
    assert not judge_rate(np.array([0.012, -np.inf, 0.01]), certified, mask).passed  # a diverged run
    assert not judge_rate(np.array([0.012, np.nan, 0.01]), certified, mask).passed
    empty = judge_rate(np.array([1.0, 1.0, 1.0]), certified, np.zeros(3, bool))  # nothing certified
    assert not empty.passed and np.isnan(empty.figure)
    assert CHECK_RATE.tolerance < 1.0


def test_nonmonotone_check_needs_convergence_and_a_cell():
    rates = np.array([0.001, 0.0005, -0.0001])
    assert judge_nonmonotone(rates, np.array([True, True, False])).passed
    assert not judge_nonmonotone(rates, np.array([True, False, True])).passed
    assert not judge_nonmonotone(rates, np.zeros(3, bool)).passed


def test_step_check_counts_non_converging_steps_below_the_bound():
    below = np.array([True, True, False])
    assert judge_steps(below, np.array([0.01, 0.02, -0.5])).passed
    failed = judge_steps(below, np.array([0.01, np.nan, 0.3]))
    assert not failed.passed and failed.figure == 1
    assert not judge_steps(np.zeros(3, bool), np.array([0.01, 0.02, 0.03])).passed
