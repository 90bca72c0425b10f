"""lr-schedules: rates, exact curves and orderings at --quick size; the must-fail controls run in test_controls."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from descentlab.store import Store
from descentlab.studies import STUDIES, StudyOptions, check_options, run_study
from descentlab.studies.lr_schedules import ALPHAS, CHECK_RATE, strict_pair_violations

QUICK = StudyOptions(quick=True)


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    return run_study("lr-schedules", Store(tmp_path_factory.mktemp("store")), QUICK)


def test_quick_verdicts_pass(outcome):
    for verdict in outcome.analysis.verdicts:
        assert verdict.passed, verdict.line()
    table = outcome.analysis.summary.set_index("schedule")
    assert table.loc["linear_decay", "final excess risk"] < table.loc["constant", "final excess risk"] / 3


def test_the_rate_tolerance_separates_the_swept_exponents(outcome):
    assert CHECK_RATE.tolerance < np.min(np.diff(ALPHAS)) / 2
    table = outcome.analysis.summary
    poly = table[table.schedule.str.startswith("polynomial")]
    assert np.all(np.abs(poly["exact slope"] - poly["predicted slope"]) < CHECK_RATE.tolerance)


def test_an_exponent_shift_in_either_direction_fails_the_rate(outcome, tmp_path):
    study = STUDIES.get("lr-schedules")()
    for shift in (-0.1, 0.1):
        options = check_options("lr-schedules", StudyOptions(quick=True, extra=(("exponent_shift", shift),)))
        assert not study.analyze(outcome.results, tmp_path, options).verdicts[0].passed, shift


def test_only_orderings_theory_makes_strict_are_judged():
    table = pd.DataFrame({"exact final": [1.0, 1.1, 2.0], "final excess risk": [1.05, 1.0, 2.2]})
    assert strict_pair_violations(table) == 0  # the 1.0 / 1.1 pair is too close to judge
    assert strict_pair_violations(table.assign(**{"final excess risk": [1.05, 1.0, 0.9]})) == 2


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
