"""optimizer-profiles at --quick size: the checks pass on the quick suite, the tuning budget is equal (same grid
size and span for every optimizer), and the analysis functions (time to target, target, tuned row, verdicts) are
checked on synthetic numbers so that a broken verdict cannot pass. The must-fail controls run in
tests/studies/test_controls.py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from descentlab.store import Store
from descentlab.studies import StudyOptions, run_study
from descentlab.studies.optimizer_profiles import (
    DECADES,
    LR,
    OPTIMIZERS,
    PROBLEMS,
    SIZES,
    build_specs,
    cautious_ratios,
    lr_grid,
    target_of,
    time_to_target,
    tuned_row,
    verdicts_from,
)

QUICK = StudyOptions(quick=True)


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    return run_study("optimizer-profiles", Store(tmp_path_factory.mktemp("store")), QUICK, report=False)


def test_quick_verdicts_pass(outcome):
    for verdict in outcome.analysis.verdicts:
        assert verdict.passed, verdict.line()


def test_every_problem_and_optimizer_is_tuned_on_an_equal_grid(outcome):
    table = outcome.analysis.summary
    assert set(table["problem"]) == set(SIZES["quick"]["problems"])
    assert (table["grid points"] == SIZES["quick"]["points"]).all()
    assert (table["ratio"].min() == 1.0) and (table.groupby("problem")["ratio"].min() == 1.0).all()


def test_equal_budget_grids_span_the_same_decades():
    from descentlab.studies.base import check_options

    specs = build_specs(check_options("optimizer-profiles", QUICK))
    assert {len(s.optimizer.values()["learning_rate"].values) for s in specs} == {SIZES["quick"]["points"]}
    for size in SIZES.values():
        for problem in PROBLEMS.values():
            for name in OPTIMIZERS:
                lrs = lr_grid(name, problem, size["points"])
                assert len(lrs) == size["points"]
                assert np.log10(max(lrs) / min(lrs)) == pytest.approx(DECADES, rel=1e-4)
    # Prodigy's and DoG's grids hold their default 1 at every size; the SGD grid moves with the problem
    for points in {size["points"] for size in SIZES.values()}:
        assert any(np.isclose(lr, 1.0) for lr in lr_grid("dog", PROBLEMS["rosenbrock"], points))
    rosenbrock = PROBLEMS["rosenbrock"]
    assert lr_grid("momentum", rosenbrock, 5)[-1] == pytest.approx(lr_grid("sgd", rosenbrock, 5)[-1] / 10)
    assert lr_grid("sgd", rosenbrock, 5)[-1] < lr_grid("sgd", PROBLEMS["least squares"], 5)[-1]


def test_time_to_target_interpolates_in_log_log_and_is_inf_when_never_reached():
    steps = np.array([0, 1, 10, 100, 1000])
    values = np.array([1.0, 0.5, 1e-1, 1e-3, 1e-5])
    assert time_to_target(steps, values, 1e-3) == pytest.approx(100.0)
    assert time_to_target(steps, values, 1e-2) == pytest.approx(10**1.5)  # halfway in log value: halfway in log step
    assert time_to_target(steps, values, 1e-6) == np.inf
    assert time_to_target(steps, values, 2.0) == 1.0  # reached at the start: counted as one step


def test_target_is_three_decades_down_unless_the_best_is_higher():
    assert target_of(2.0, 1e-9) == pytest.approx(2e-3)
    assert target_of(2.0, 1e-2) == pytest.approx(2e-2)


def _final(means, all_ok=None) -> pd.DataFrame:
    index = pd.Index([1e-3, 1e-2, 1e-1, 1.0][: len(means)], name=LR)
    ok = [True] * len(means) if all_ok is None else all_ok
    return pd.DataFrame({"mean": means, "stderr": 0.0, "all_ok": ok}, index=index)


def test_tuned_row_picks_the_fastest_trial_and_respects_the_budget():
    final = _final([0.5, 1e-4, 1e-5, 1e-6], [True, True, True, False])
    times = pd.Series([np.inf, 300.0, 100.0, np.inf], index=final.index)
    row = tuned_row("p", "adam", final, times)
    assert row["tuned lr"] == 0.1 and row["time to target"] == 100.0 and row["grid points reaching target"] == 2
    assert row["lowest final loss"] == 1e-5  # the diverged trial's low mean does not count
    one = tuned_row("p", "cautious_adamw", final, times, budget=1)
    assert one["tuned lr"] == 1e-3 and one["time to target"] == np.inf and one["grid points"] == 1


def _table(times: dict[str, float], problem: str = "p") -> pd.DataFrame:
    return pd.DataFrame(
        [{"problem": problem, "optimizer": o, "label": OPTIMIZERS[o][0], "time to target": t} for o, t in times.items()]
    )


def _times(problem: str, grid: dict[str, list[float]]) -> pd.DataFrame:
    rows = []
    for name, ts in grid.items():
        lrs = np.logspace(-2, 2, len(ts)) if name in ("prodigy", "dog") else np.logspace(-3, 1, len(ts))
        rows += [
            {"problem": problem, "optimizer": name, "lr": lr, "time": t, "final": 1.0}
            for lr, t in zip(lrs, ts, strict=True)
        ]
    return pd.DataFrame(rows)


GOOD = {
    "adamw": 100.0,
    "cautious_adamw": 90.0,
    "lion": 200.0,
    "cautious_lion": 180.0,
    "sgd": 300.0,
    "adagrad_norm": 250.0,
}
GOOD_GRID = {
    "sgd": [np.inf, np.inf, 300.0, 500.0, np.inf],
    "adagrad_norm": [np.inf, 400.0, 250.0, 260.0, 270.0],
}


def test_verdicts_pass_a_suite_that_agrees_with_the_claims():
    verdicts = verdicts_from(_table(GOOD), _times("p", GOOD_GRID))
    assert [v.check for v in verdicts] == ["c-adamw-not-slower", "c-lion-faster-on-average", "adagrad-norm-robust"]
    assert [v.passed for v in verdicts] == [True] * 3, [v.line() for v in verdicts]


@pytest.mark.parametrize(
    "change",
    [{"cautious_adamw": 400.0}, {"cautious_adamw": np.inf}, {"cautious_adamw": 125.0}],
    ids=["much-slower", "never-reaches", "slower-beyond-tolerance"],
)
def test_the_headline_rejects_a_slower_c_adamw(change):
    headline = verdicts_from(_table(GOOD | change), _times("p", GOOD_GRID))[0]
    assert not headline.passed, headline.line()


def test_the_headline_is_judged_on_the_worst_problem():
    table = pd.concat([_table(GOOD, "p"), _table(GOOD | {"cautious_adamw": 130.0}, "q")])
    headline = verdicts_from(table, pd.concat([_times("p", GOOD_GRID), _times("q", GOOD_GRID)]))[0]
    assert not headline.passed and headline.figure == pytest.approx(1.3) and "q" in headline.what


def test_c_lion_is_judged_on_the_geometric_mean():
    # one problem 1.85× slower, three faster: the mean passes (as measured at default) …
    problems = {"p": 0.73, "q": 0.69, "r": 1.85, "s": 0.81}
    table = pd.concat([_table(GOOD | {"cautious_lion": 200.0 * k}, p) for p, k in problems.items()])
    times = pd.concat([_times(p, GOOD_GRID) for p in problems])
    lion = verdicts_from(table, times)[1]
    assert lion.passed and lion.figure == pytest.approx(np.exp(np.mean(np.log(list(problems.values())))))
    # … a C-Lion slower on average, or never reaching a target Lion reaches, fails
    slower = pd.concat([_table(GOOD | {"cautious_lion": 200.0 * k}, p) for p, k in {"p": 1.3, "q": 1.0}.items()])
    assert not verdicts_from(slower, pd.concat([_times("p", GOOD_GRID), _times("q", GOOD_GRID)]))[1].passed
    assert not verdicts_from(_table(GOOD | {"cautious_lion": np.inf}), _times("p", GOOD_GRID))[1].passed


def test_robustness_verdict_rejects_a_fragile_adagrad_norm():
    fragile = {"adagrad_norm": [np.inf, np.inf, 250.0, np.inf, np.inf], "sgd": [np.inf, 300.0, 300.0, 500.0, np.inf]}
    assert not verdicts_from(_table(GOOD), _times("p", fragile))[2].passed
    assert np.isnan(verdicts_from(_table(GOOD), _times("p", {"sgd": GOOD_GRID["sgd"]}))[2].figure)


def test_cautious_ratios_leave_out_problems_neither_reaches():
    table = pd.concat([_table(GOOD, "p"), _table(GOOD | {"adamw": np.inf, "cautious_adamw": np.inf}, "q")])
    ratios = cautious_ratios(table)
    assert len(ratios) == 3 and ratios["ratio"].max() == pytest.approx(0.9)
