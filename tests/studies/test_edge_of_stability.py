"""edge-of-stability: the edge-phase figures on known curves; the quick study passes every criterion.

The must-fail controls (truncated run, step sizes below the edge, a line 5 % low) run in
tests/studies/test_controls.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from descentlab.store import Store
from descentlab.studies import StudyOptions, check_options, run_study
from descentlab.studies.edge_of_stability import (
    BAND,
    MAX_DRIFT,
    band_distance,
    criteria,
    edge_line,
    edge_phase,
    phase_figures,
)
from tests.studies.edge_checks import assert_fails_with_shuffled_step_sizes, assert_quick_passes_and_is_stored

QUICK = StudyOptions(quick=True)
CHECKED = check_options("edge-of-stability", QUICK)  # every declared option filled in, for analyze


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("store"))
    return store, run_study("edge-of-stability", store, QUICK)


def test_edge_phase_starts_at_the_first_upward_crossing():
    steps = np.arange(7)
    # starts above the line (knocked down by GD: not a crossing), sharpens, crosses at index 4
    sharp = np.array([9.0, 4.0, 4.5, 4.9, 5.1, 4.8, 5.2])
    assert edge_phase(steps, sharp, 5.0).tolist() == [False] * 4 + [True] * 3
    assert not edge_phase(steps, np.full(7, 4.0), 5.0).any()
    assert edge_line(0.25) == pytest.approx(8.0)
    assert band_distance(1.0) < 0 and band_distance(BAND[1] + 0.01) > 0 and band_distance(BAND[0] - 0.01) > 0
    assert band_distance(float("nan")) == np.inf


def _row(steps, ratio, loss, run_steps):
    return pd.Series(phase_figures(np.asarray(steps), np.asarray(ratio), np.asarray(loss), run_steps))


def test_a_hovering_phase_passes_and_a_still_rising_one_fails():
    steps = np.arange(50, 101, 5)  # the last half of a 100-step run, 11 checkpoints
    rng = np.random.default_rng(0)
    hover = 1.01 + 0.02 * rng.standard_normal(steps.size)
    loss = np.linspace(1.0, 0.5, steps.size) + np.where(np.arange(steps.size) % 3 == 2, 0.1, 0.0)
    ok = _row(steps, hover, loss, 100)
    assert ok["edge fraction"] == pytest.approx(0.5) and ok["loss rises"] >= 1 and ok["loss fall"] > 0
    assert all(criteria(ok).values()), ok
    # sharpness still climbing through 2/η and a monotone loss (a run cut short at the crossing)
    rising = _row(steps, np.linspace(1.0, 1.12, steps.size), np.linspace(1.0, 0.8, steps.size), 100)
    failed = criteria(rising)
    assert rising["drift"] > MAX_DRIFT and not failed["hovers"] and not failed["loss rises"]
    # the same flat phase, but short: a tenth of the run
    assert not criteria(_row(steps, hover, loss, 500))["lasts"]
    # no edge phase at all (2/η never reached)
    assert not any(criteria(_row([], [], [], 100)).values())


def test_quick_verdict_passes_and_is_stored(outcome):
    assert_quick_passes_and_is_stored(outcome, BAND, 0.2)


def test_verdict_fails_when_step_size_labels_are_shuffled(outcome, tmp_path):
    assert_fails_with_shuffled_step_sizes("edge-of-stability", outcome, CHECKED, tmp_path)
