"""adaptive-edge-of-stability: the lines, the edge-phase figures on known curves; the quick study passes.

The must-fail controls (small batch, truncated run, step sizes below the edge, plain GD's line) run in
tests/studies/test_controls.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from descentlab.store import Store
from descentlab.studies import StudyOptions, check_options, run_study
from descentlab.studies.adaptive_edge_of_stability import (
    BAND,
    MAX_DRIFT,
    RATIO,
    adam_line,
    band_distance,
    criteria,
    gd_line,
    per_run,
    phase_figures,
    verdicts_from,
)
from tests.studies.edge_checks import assert_fails_with_shuffled_step_sizes, assert_quick_passes_and_is_stored

NAME = "adaptive-edge-of-stability"
QUICK = StudyOptions(quick=True)
CHECKED = check_options(NAME, QUICK)  # every declared option filled in, for analyze


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("store"))
    return store, run_study(NAME, store, QUICK)


def test_lines_and_band():
    assert adam_line(0.01, 0.9) == pytest.approx(3800.0)  # 38/η
    assert adam_line(0.01, 0.0) == pytest.approx(200.0)  # β₁ = 0: plain GD's 2/η
    assert gd_line(0.01, 0.9) == pytest.approx(200.0)
    assert band_distance(1.0) < 0 and band_distance(0.95) < 0
    assert band_distance(BAND[1] + 0.01) > 0 and band_distance(BAND[0] - 0.01) > 0
    assert band_distance(float("nan")) == np.inf


def _row(steps, ratio, loss, run_steps):
    return pd.Series(phase_figures(np.asarray(steps), np.asarray(ratio), np.asarray(loss), run_steps))


def test_a_sawtooth_at_the_line_passes_and_a_still_rising_one_fails():
    steps = np.arange(50, 101, 5)  # the last half of a 100-step run, 11 checkpoints
    sawtooth = np.tile([0.93, 0.97, 1.01], 4)[: steps.size]
    loss = np.linspace(1.0, 0.5, steps.size) + np.where(np.arange(steps.size) % 3 == 2, 0.1, 0.0)
    ok = _row(steps, sawtooth, loss, 100)
    assert ok["edge fraction"] == pytest.approx(0.5) and ok["loss rises"] >= 1 and ok["loss fall"] > 0
    assert all(criteria(ok).values()), ok
    rising = _row(steps, np.linspace(1.0, 1.3, steps.size), np.linspace(1.0, 0.8, steps.size), 100)
    failed = criteria(rising)
    assert rising["drift"] > MAX_DRIFT and not failed["hovers"] and not failed["at edge"]
    assert not failed["loss rises"]
    assert not criteria(_row(steps, sawtooth, loss, 500))["lasts"]  # a tenth of the run
    assert not any(criteria(_row([], [], [], 100)).values())  # the line never reached


def _synthetic(ratio_of_lr: dict[float, np.ndarray], line=adam_line) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Runs and curves with preconditioned sharpness = r·line(η) and a loss that falls with rises."""
    runs, curves = [], []
    for i, (lr, ratio) in enumerate(ratio_of_lr.items()):
        steps = np.arange(ratio.size) * 10
        loss = np.exp(-steps / 200.0) * (1 + 0.2 * (np.arange(ratio.size) % 2))
        runs.append({"run": i, "seed": 0, "status": "ok", "optimizer_learning_rate": lr, "optimizer_b1": 0.9})
        for metric, values in (("preconditioned_sharpness", ratio * line(lr, 0.9)), ("train_loss", loss)):
            curves.append(pd.DataFrame({"run": i, "step": steps, "metric": metric, "value": values}))
    return pd.DataFrame(runs), pd.concat(curves, ignore_index=True)


def test_verdicts_pass_at_the_line_and_fail_off_it():
    climb = np.linspace(0.2, 0.9, 10)
    at = np.concatenate([climb, np.tile([0.95, 1.01, 0.97], 10)])
    runs, curves = _synthetic({0.02: at, 0.05: at})
    verdicts = verdicts_from(per_run(runs, curves))
    assert all(v.passed for v in verdicts), [v.line() for v in verdicts]
    # the same runs judged against plain GD's 2/η: 19 times above the line
    bad = verdicts_from(per_run(runs, curves, gd_line))
    assert not bad[0].passed and bad[0].figure == pytest.approx(19.0 * 0.97, rel=0.05)
    # one run hovering 15 % below its line (crossing once, then settling low) fails the headline
    low = np.concatenate([climb, [1.01], np.full(29, 0.85)])
    runs, curves = _synthetic({0.02: at, 0.05: low})
    table = per_run(runs, curves)
    verdicts = verdicts_from(table)
    assert not verdicts[0].passed and verdicts[0].figure == pytest.approx(0.85)
    assert table[RATIO].iloc[0] == pytest.approx(0.97)
    # a run that never reaches the line: the headline reports how close it came
    runs, curves = _synthetic({0.02: at, 0.05: climb})
    verdicts = verdicts_from(per_run(runs, curves))
    assert not verdicts[0].passed and verdicts[0].figure == pytest.approx(0.9)


def test_quick_verdict_passes_and_is_stored(outcome):
    assert_quick_passes_and_is_stored(outcome, BAND, 0.05)


def test_verdict_fails_when_step_size_labels_are_shuffled(outcome, tmp_path):
    assert_fails_with_shuffled_step_sizes(NAME, outcome, CHECKED, tmp_path)
