"""The flagship study: passes at --quick size, and fails when the claim is broken on purpose.

The must-fail controls (power law α = 1.5, d = 20) run in tests/studies/test_controls.py."""

from __future__ import annotations

import numpy as np
import pytest

from descentlab.store import Store, query
from descentlab.studies import STUDIES, StudyOptions, check_options, run_study


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("store"))
    return store, run_study("sgd-risk-curves", store, StudyOptions(quick=True))


def test_quick_verdict_passes_and_is_stored(outcome):
    store, result = outcome
    headline = result.analysis.verdicts[0]
    assert headline.passed, headline.line()
    assert 0 < headline.figure < headline.tolerance < 0.1
    assert result.analysis.verdicts[1].passed, result.analysis.verdicts[1].line()  # z against the exact recursion
    stored = query(store.root, "select * from verdicts")
    assert len(stored) == 2 and bool(stored.passed[0])
    assert headline.line() in set(stored.line)
    assert result.report.exists() and "verdict: pass" in result.report.read_text()
    runs = result.results[0].runs
    assert len(runs) == 3 * 2 * 32 and (runs.status == "ok").all()


def test_exact_recursion_agrees_with_the_seed_mean_within_sampling_error(outcome):
    _, result = outcome
    table = result.analysis.summary
    assert (table["max |z| exact"] < 4.5).all(), table


def test_verdict_fails_with_a_wrong_prediction(outcome, tmp_path):
    _, result = outcome
    # the prediction for twice the rate
    wrong = check_options("sgd-risk-curves", StudyOptions(quick=True, extra=(("prediction_lr_factor", 2.0),)))
    analysis = STUDIES.get("sgd-risk-curves")().analyze(result.results, tmp_path, wrong)
    assert not analysis.verdicts[0].passed
    assert analysis.verdicts[0].figure > 0.2


def test_verdict_fails_when_labels_are_shuffled_in_the_measurement(outcome, tmp_path):
    """Swap which learning rate each stored curve belongs to: the measured curves no longer match."""
    _, result = outcome
    runs = result.results[0].runs.copy()
    lrs = sorted(runs.optimizer_learning_rate.unique())
    runs["optimizer_learning_rate"] = runs.optimizer_learning_rate.map(dict(zip(lrs, lrs[::-1], strict=True)))

    class Swapped:
        def __init__(self, inner):
            self.runs, self.curves = runs, inner.curves

    analysis = STUDIES.get("sgd-risk-curves")().analyze(
        [Swapped(result.results[0])], tmp_path, check_options("sgd-risk-curves", StudyOptions(quick=True))
    )
    assert not analysis.verdicts[0].passed
    assert np.isfinite(analysis.verdicts[0].figure)
