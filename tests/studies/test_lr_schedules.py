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


def test_logistic_intrinsic_time_ordering_fails_when_losses_are_swapped(outcome):
    from descentlab.studies.lr_schedules import SIZES, LRSchedules

    logistic = [r for r in outcome.results if r.info["name"].startswith("lr-schedules-logistic")]
    assert len(logistic) == 5
    table, verdict = LRSchedules._intrinsic_time_ordering(logistic, SIZES["quick"]["steps"])
    assert verdict.passed and len(table) == 7

    class Swapped:
        """The constant-step experiment reporting the worst schedule's final losses."""

        def __init__(self, result, worst):
            self.info, self.curves = result.info, result.curves
            self.runs = result.runs.assign(final_population_loss=worst * 2)

    worst = table["final loss"].max()
    constant = next(r for r in logistic if r.info["name"].startswith("lr-schedules-logistic-constant"))
    broken = [Swapped(r, worst) if r is constant else r for r in logistic]
    _, verdict = LRSchedules._intrinsic_time_ordering(broken, SIZES["quick"]["steps"])
    assert not verdict.passed and verdict.figure >= 6
