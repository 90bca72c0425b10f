"""regular-languages: the study passes at --quick; its verdict logic rejects wrong inputs (the controls run in
test_controls)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from descentlab.store import Store
from descentlab.studies import StudyOptions, run_study
from descentlab.studies.regular_languages import (
    CHECK_COT,
    CHECK_LOG_GROWTH,
    CHECK_RATE,
    chance_deviation,
    cot_shortfall,
    late_fits,
    rate_figures,
)


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    return run_study("regular-languages", Store(tmp_path_factory.mktemp("store")), StudyOptions(quick=True))


def test_quick_verdicts_pass(outcome):
    for verdict in outcome.analysis.verdicts:
        assert verdict.passed, verdict.line()
    table = outcome.analysis.summary
    assert table[table.task == "even_pairs"]["learned"].all()
    assert table[table.task == "parity"]["learned"].sum() == 0


def test_late_fits_recover_a_one_over_t_loss_and_log_growth():
    steps = np.geomspace(1, 4000, 60)
    fits = late_fits(steps, 3.0 / steps, 0.4 * np.log(steps) + 1.0, 4000)
    assert abs(fits["loss exponent"] + 1) < 1e-9 and abs(fits["growth ratio"] - 1) < 1e-9
    power = late_fits(steps, 3.0 / steps**2, steps**0.3, 4000)  # a faster loss and power-law growth
    assert abs(power["loss exponent"] + 2) < 1e-9 and power["growth ratio"] - 1 > CHECK_LOG_GROWTH.tolerance


def test_rate_figures_reject_wrong_exponents_and_unlearned_seeds():
    good = pd.DataFrame({"learned": [True] * 4, "loss exponent": [-1.0, -1.05, -0.98, -1.1], "growth ratio": 1.0})
    every, rate, growth = rate_figures(good)
    assert every and rate <= CHECK_RATE.tolerance and growth == 0
    _, rate, _ = rate_figures(good.assign(**{"loss exponent": -1.5}))
    assert rate > CHECK_RATE.tolerance
    every, rate, growth = rate_figures(good.assign(learned=[True, True, True, False]))  # one seed stuck
    assert not every and rate == np.inf and growth == np.inf
    assert rate_figures(good.iloc[:0])[1] == np.inf


def test_chance_deviation_and_cot_shortfall():
    assert chance_deviation(np.array([0.5, 0.53, 0.47])) == pytest.approx(0.03)
    assert chance_deviation(np.array([0.5, 1.0])) == 0.5 and chance_deviation(np.array([])) == np.inf
    assert cot_shortfall(np.array([1.0, 1.0])) <= CHECK_COT.tolerance
    assert cot_shortfall(np.array([1.0, 0.75])) == pytest.approx(0.25)
    assert cot_shortfall(np.array([1.0, 255 / 256])) > CHECK_COT.tolerance
    assert cot_shortfall(np.array([np.nan])) == 1.0
