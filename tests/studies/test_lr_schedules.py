"""lr-schedules: rates, exact curves and orderings at --quick size; wrong exponents fail the verdict."""

from __future__ import annotations

import pytest

from descentlab.store import Store
from descentlab.studies import STUDIES, StudyOptions, run_study

QUICK = StudyOptions(quick=True)


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    return run_study("lr-schedules", Store(tmp_path_factory.mktemp("store")), QUICK)


def test_quick_verdicts_pass(outcome):
    for verdict in outcome.analysis.verdicts:
        assert verdict.passed, verdict.line()
    table = outcome.analysis.summary.set_index("schedule")
    assert table.loc["linear_decay", "final excess risk"] < table.loc["constant", "final excess risk"] / 3


def test_rate_verdict_fails_with_the_wrong_exponents(outcome, tmp_path):
    analysis = STUDIES.get("lr-schedules")().analyze(outcome.results, tmp_path, QUICK, alphas=[0.7, 0.5, 0.3])
    assert not analysis.verdicts[0].passed and analysis.verdicts[0].figure > 0.3
