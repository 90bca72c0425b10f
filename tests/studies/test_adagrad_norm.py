"""adagrad-norm: γ∞ matches the high line and scales as 1/λ̄ at --quick size; broken claims fail."""

from __future__ import annotations

import pytest

from descentlab.store import Store
from descentlab.studies import STUDIES, StudyOptions, run_study

QUICK = StudyOptions(quick=True)


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    return run_study("adagrad-norm", Store(tmp_path_factory.mktemp("store")), QUICK)


def test_quick_verdicts_pass(outcome):
    for verdict in outcome.analysis.verdicts:
        assert verdict.passed, verdict.line()
    table = outcome.analysis.summary
    assert (table["γ∞ measured"].diff().dropna() < 0).all()  # larger covariance, smaller limit


def test_wrong_exponent_fails(outcome, tmp_path):
    analysis = STUDIES.get("adagrad-norm")().analyze(outcome.results, tmp_path, QUICK, predicted_exponent=-0.5)
    assert analysis.verdicts[0].passed and not analysis.verdicts[1].passed


def test_shuffled_scale_labels_fail(outcome, tmp_path):
    result = outcome.results[0]
    runs = result.runs.copy()
    scales = sorted(runs.problem_scale.unique())
    runs["problem_scale"] = runs.problem_scale.map(dict(zip(scales, scales[::-1], strict=True)))

    class Relabelled:
        def __init__(self):
            self.runs, self.curves = runs, result.curves

    analysis = STUDIES.get("adagrad-norm")().analyze([Relabelled()], tmp_path, QUICK)
    assert not analysis.verdicts[0].passed and not analysis.verdicts[1].passed
