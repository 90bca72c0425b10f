"""grokking: the study passes at --quick; its verdicts fail on synthetic curves that break each claim (the
must-fail controls run in test_controls)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from descentlab.store import Store
from descentlab.studies import StudyOptions, check_options, run_study
from descentlab.studies.grokking import (
    CHECK_DELAY,
    WD,
    Grokking,
    first_step,
    grokking_decays,
    headline_ratio,
    judged_runs,
    midpoint_step,
    order_gap,
    ordering_violations,
    per_weight_decay,
    run_times,
    weight_decays,
)

QUICK = StudyOptions(quick=True)


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    return run_study("grokking", Store(tmp_path_factory.mktemp("store")), QUICK, report=False)


def test_quick_verdicts_pass(outcome):
    for verdict in outcome.analysis.verdicts:
        assert verdict.passed, verdict.line()
    table = outcome.analysis.summary.set_index("weight decay")
    assert (table["grokked"] == table["seeds"]).all()
    assert table.loc[1.0, "median t_test"] >= CHECK_DELAY.tolerance * table.loc[1.0, "median t_train"]


def test_the_order_parameter_starts_spread_and_ends_concentrated(outcome):
    times = run_times(outcome.results[0].runs, outcome.results[0].curves)
    assert times["order first"].max() < 0.45  # 3 of 11 frequencies: about 0.27 plus the random spread
    assert times["order final"].min() > 0.85


# ---- the verdict logic on synthetic curves ------------------------------------------------------------------------
STEPS = np.unique(np.round(np.geomspace(1, 4000, 60))).astype(int)


def _sigmoid(steps: np.ndarray, middle: float, low: float, high: float) -> np.ndarray:
    return low + (high - low) / (1 + (middle / steps) ** 6)


def synthetic(times: dict[float, tuple[float, float, float]], final_order: float = 0.95, seeds: int = 3):
    """runs and curves whose train accuracy, test accuracy and Fourier concentration rise at the given steps
    ``{weight decay: (train, test, order)}`` (seed s shifted by 5 % × s); a step of ∞ means never."""
    runs, curves = [], []
    for wd, (t_train, t_test, t_order) in times.items():
        for seed in range(seeds):
            run = len(runs)
            runs.append({"run": run, "seed": seed, "status": "ok", WD: wd})
            shift = 1 + 0.05 * seed
            values = {
                "train_accuracy": _sigmoid(STEPS, t_train * shift, 0.05, 1.0),
                "test_accuracy": _sigmoid(STEPS, t_test * shift, 0.04, 1.0),
                "fourier_concentration": _sigmoid(STEPS, t_order * shift, 0.35, final_order),
            }
            for metric, value in values.items():
                curves.append(pd.DataFrame({"run": run, "step": STEPS, "metric": metric, "value": value}))
    return pd.DataFrame(runs), pd.concat(curves, ignore_index=True)


class Fake:
    def __init__(self, runs: pd.DataFrame, curves: pd.DataFrame):
        self.runs, self.curves = runs, curves


GROKKING = {0.3: (20.0, 1500.0, 1400.0), 1.0: (25.0, 350.0, 330.0), 3.0: (90.0, 200.0, 150.0)}


def _verdicts(tmp_path, times=GROKKING, **kwargs) -> dict[str, bool]:
    options = check_options("grokking", QUICK)
    analysis = Grokking().analyze([Fake(*synthetic(times, **kwargs))], tmp_path, options)
    return {v.check: v.passed for v in analysis.verdicts}


def test_synthetic_grokking_passes_every_check(tmp_path):
    assert all(_verdicts(tmp_path).values())


def test_a_jump_at_the_fit_fails_the_headline(tmp_path):
    together = {wd: (t, 2.5 * t, 2.5 * t) for wd, (t, _, _) in GROKKING.items()}
    assert not _verdicts(tmp_path, together)["delay-ratio"]


def test_each_broken_claim_fails_its_own_check(tmp_path):
    """Fourier concentration rising a decade before the jump and ending at 0.5, delays growing with λ."""
    broken = {0.3: (25.0, 200.0, 20.0), 1.0: (25.0, 350.0, 35.0), 3.0: (25.0, 1500.0, 150.0)}
    verdicts = _verdicts(tmp_path, broken, final_order=0.5)
    assert verdicts == {
        "delay-ratio": True,
        "order-parameter-jump": False,
        "fourier-concentration": False,
        "delay-vs-weight-decay": False,
    }


def test_a_seed_majority_that_never_generalizes_has_an_infinite_delay():
    times = run_times(*synthetic({**GROKKING, 1.0: (25.0, np.inf, 330.0)}))
    table = per_weight_decay(times)
    assert headline_ratio(table, 1.0) == np.inf and headline_ratio(table, 0.5) != headline_ratio(table, 0.5)
    assert grokking_decays(table, CHECK_DELAY.tolerance) == [0.3]
    assert judged_runs(times, [1.0]).empty and np.isnan(order_gap(judged_runs(times, [1.0])))
    assert order_gap(judged_runs(times, [0.3])) < 0.1


def test_crossing_steps_and_the_ordering_count():
    steps = np.array([0, 1, 10, 100, 1000])
    assert first_step(steps, np.array([0.0, 0.2, 0.995, 1.0, 1.0]), 0.99) == 10
    assert first_step(steps, np.array([0.0, 0.2, 0.5, 0.9, 0.98]), 0.99) == np.inf
    assert midpoint_step(steps, np.array([0.3, 0.3, 0.4, 0.8, 0.9])) == 100  # halfway from 0.3 to 0.9
    assert midpoint_step(steps, np.array([0.3, 0.3, 0.3, 0.3, 0.3])) == np.inf
    table = pd.DataFrame({"weight decay": [0.0, 0.3, 1.0, 3.0], "median delay ratio": [np.inf, 40.0, 10.0, 2.5]})
    assert ordering_violations(table) == 0  # λ = 0 is not ordered
    assert ordering_violations(table.assign(**{"median delay ratio": [np.inf, np.inf, np.inf, 2.5]})) == 1
    assert ordering_violations(table.assign(**{"median delay ratio": [1.0, 2.0, 10.0, 2.5]})) == 1


def test_swept_weight_decays_and_the_medians():
    assert weight_decays(1.0, (0.3, 1.0, 3.0)) == [0.3, 1.0, 3.0]
    assert weight_decays(0.0, (0.0, 0.1, 1.0)) == [0.0]
    runs, curves = synthetic({1.0: (25.0, np.inf, 330.0)}, seeds=3)
    table = per_weight_decay(run_times(runs, curves))
    assert table["grokked"].iloc[0] == 0 and table["median delay ratio"].iloc[0] == np.inf
