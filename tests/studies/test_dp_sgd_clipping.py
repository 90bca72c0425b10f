"""dp-sgd-clipping: best C near the typical gradient norm at --quick size; a mislabelled sweep fails."""

from __future__ import annotations

import pytest

from descentlab.store import Store
from descentlab.studies import STUDIES, StudyOptions, run_study

QUICK = StudyOptions(quick=True)


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    return run_study("dp-sgd-clipping", Store(tmp_path_factory.mktemp("store")), QUICK)


def test_quick_verdicts_pass(outcome):
    for verdict in outcome.analysis.verdicts:
        assert verdict.passed, verdict.line()
    table = outcome.analysis.summary
    risks = table["final risk (mean)"].to_numpy()
    assert risks[-1] > 10 * risks.min()  # lax clipping drowns the signal in privacy noise
    assert 1.5 < table["epsilon"].iloc[0] < 3.0


def test_claim_fails_when_clipping_constants_are_mislabelled(outcome, tmp_path):
    result = outcome.results[0]
    runs = result.runs.copy()
    runs["optimizer_l2_norm_clip"] = runs.optimizer_l2_norm_clip * 100  # as if every C were 100× larger

    class Relabelled:
        def __init__(self):
            self.runs, self.curves = runs, result.curves

    analysis = STUDIES.get("dp-sgd-clipping")().analyze([Relabelled()], tmp_path, QUICK)
    assert not analysis.verdicts[0].passed and analysis.verdicts[0].figure > 3
