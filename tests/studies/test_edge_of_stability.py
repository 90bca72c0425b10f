"""edge-of-stability: passes at --quick size, fails when the 2/η line or the step-size labels are wrong."""

from __future__ import annotations

import numpy as np
import pytest

from descentlab.store import Store, query
from descentlab.studies import STUDIES, StudyOptions, run_study
from descentlab.studies.edge_of_stability import band_distance, edge_line, edge_phase

QUICK = StudyOptions(quick=True)


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
    assert band_distance(1.0) < 0 and band_distance(1.2) > 0 and band_distance(0.9) > 0
    assert band_distance(float("nan")) == np.inf


def test_quick_verdict_passes_and_is_stored(outcome):
    store, result = outcome
    headline = result.analysis.verdicts[0]
    assert headline.passed, headline.line()
    assert 0.95 <= headline.figure <= 1.10
    table = result.analysis.summary
    assert len(table) == 3 and (table.status == "ok").all()
    # progressive sharpening: every run reaches 2/η after a phase below it, and spends a while at the edge
    assert (table["edge checkpoints"] >= 5).all(), table
    assert (table["final loss"] < 0.2 * table["initial loss"]).all()
    stored = query(store.root, "select * from verdicts")
    assert len(stored) == 1 and bool(stored.passed[0]) and stored.line[0] == headline.line()
    assert result.report.exists() and "verdict: pass" in result.report.read_text()


def test_verdict_fails_with_a_wrong_prediction(outcome, tmp_path):
    """A line 10 % below 2/η: the sharpness hovers above it, outside the band."""
    _, result = outcome
    analysis = STUDIES.get("edge-of-stability")().analyze(result.results, tmp_path, QUICK,
                                                          threshold=lambda lr: 0.9 * 2.0 / lr)
    assert not analysis.verdicts[0].passed
    assert analysis.verdicts[0].figure > 1.10


def test_verdict_fails_when_step_size_labels_are_shuffled(outcome, tmp_path):
    _, result = outcome
    runs = result.results[0].runs.copy()
    lrs = sorted(runs.optimizer_learning_rate.unique())
    runs["optimizer_learning_rate"] = runs.optimizer_learning_rate.map(dict(zip(lrs, lrs[::-1], strict=True)))

    class Swapped:
        def __init__(self, inner):
            self.runs, self.curves = runs, inner.curves

    analysis = STUDIES.get("edge-of-stability")().analyze([Swapped(result.results[0])], tmp_path, QUICK)
    assert not analysis.verdicts[0].passed
