"""shuffling: slopes 1 / 2 / 3 at --quick size; the verdict fails when the claim is broken on purpose."""

from __future__ import annotations

import pytest

from descentlab.store import Store
from descentlab.studies import STUDIES, StudyOptions, run_study
from descentlab.studies.shuffling import PREDICTED_SLOPE

QUICK = StudyOptions(quick=True)


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    return run_study("shuffling", Store(tmp_path_factory.mktemp("store")), QUICK)


def test_quick_slopes_match_theory(outcome):
    verdict = outcome.analysis.verdicts[0]
    assert verdict.passed, verdict.line()
    slopes = outcome.analysis.summary.set_index("sampler")["fitted slope"]
    assert slopes["with_replacement"] < slopes["single_shuffle"] < slopes["random_reshuffling"]


def test_fails_with_the_wrong_prediction(outcome, tmp_path):
    wrong = {**PREDICTED_SLOPE, "random_reshuffling": 2.0, "single_shuffle": 3.0}
    analysis = STUDIES.get("shuffling")().analyze(outcome.results, tmp_path, QUICK, predicted=wrong)
    assert not analysis.verdicts[0].passed and analysis.verdicts[0].figure > 0.5


def test_fails_when_sampler_labels_are_shuffled(outcome, tmp_path):
    result = outcome.results[0]
    runs = result.runs.copy()
    swap = {"random_reshuffling": "with_replacement", "with_replacement": "random_reshuffling"}
    runs["sampler_name"] = runs.sampler_name.map(lambda s: swap.get(s, s))

    class Relabelled:
        def __init__(self):
            self.runs, self.curves = runs, result.curves

    analysis = STUDIES.get("shuffling")().analyze([Relabelled()], tmp_path, QUICK)
    assert not analysis.verdicts[0].passed
