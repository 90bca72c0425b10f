"""autosgd at --quick size: AutoSGD's final loss is within the declared factor of the tuned constant step on
every problem and initial rate, and the γ it holds over steps 100–500 lies in the band of good constant
steps; the verdict logic rejects synthetic wrong inputs. The must-fail controls run in
tests/studies/test_controls.py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from descentlab.store import Store
from descentlab.studies import StudyOptions, run_study
from descentlab.studies.autosgd import CHECK_RATIO, CHECK_REGION, FACTOR, compare, good_band, verdicts_from

QUICK = StudyOptions(quick=True)


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    return run_study("autosgd", Store(tmp_path_factory.mktemp("store")), QUICK, report=False)


def test_quick_verdicts_pass(outcome):
    for verdict in outcome.analysis.verdicts:
        assert verdict.passed, verdict.line()


def test_every_problem_and_initial_rate_is_judged(outcome):
    table = outcome.analysis.summary
    assert set(table["problem"]) == {"least squares", "logistic mixture", "rosenbrock"}
    assert len(table) == 9
    # the initial rates span at least three orders of magnitude on every problem
    spans = table.groupby("problem")["γ₀"].agg(lambda g: np.log10(g.max() / g.min()))
    assert (spans >= 3).all()


def _auto(rows: dict[float, float]) -> pd.DataFrame:
    return pd.DataFrame({"mean": list(rows.values()), "stderr": 0.01, "count": 8}, index=list(rows.keys()))


GRID = pd.Series({0.01: 1.0, 0.1: 0.2, 1.0: 0.1, 10.0: np.nan})
FINAL = pd.DataFrame({"mean": GRID})


def test_good_band_interpolates_the_edges_in_log_loss():
    best, low, high = good_band(GRID)
    assert best == pytest.approx(0.1) and low == pytest.approx(0.1) and high == pytest.approx(1.0)
    # a steeper rise: the 2×-best level is crossed between grid points, at the log-linear interpolation
    best, low, high = good_band(pd.Series({0.01: 0.8, 0.1: 0.1, 1.0: 0.8}))
    assert low == pytest.approx(10 ** (-1 - 1 / 3)) and high == pytest.approx(10 ** (-1 + 1 / 3))


def _table(ratio_loss: dict[float, float], held: dict[float, float]) -> pd.DataFrame:
    return compare(FINAL, GRID, _auto(ratio_loss), pd.Series(held), "p")


def test_verdicts_pass_a_good_autosgd():
    ratio, region = verdicts_from(_table({1e-3: 0.15, 10.0: 0.12}, {1e-3: 0.3, 10.0: 0.9}))
    assert ratio.passed and region.passed
    assert ratio.figure == pytest.approx(1.5) and region.figure == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("losses", "held", "which"),
    [
        ({1e-3: 0.15, 10.0: 0.1 * (CHECK_RATIO.tolerance + 0.5)}, {1e-3: 0.3, 10.0: 0.3}, 0),  # loss too high
        ({1e-3: 0.15, 10.0: np.nan}, {1e-3: 0.3, 10.0: 0.3}, 0),  # every seed diverged
        ({1e-3: 0.15, 10.0: 0.15}, {1e-3: 0.1 / (FACTOR * 1.5), 10.0: 0.3}, 1),  # γ held below the good steps
        ({1e-3: 0.15, 10.0: 0.15}, {1e-3: 0.3, 10.0: 1.0 * FACTOR * 1.5}, 1),  # γ held above them
        ({1e-3: 0.15, 10.0: 0.15}, {1e-3: 0.3, 10.0: np.nan}, 1),  # no held γ recorded
    ],
)
def test_verdicts_reject_wrong_inputs(losses, held, which):
    verdict = verdicts_from(_table(losses, held))[which]
    assert not verdict.passed, verdict.line()


def test_tolerances_are_the_declared_ones():
    ratio, region = verdicts_from(_table({1e-3: 0.15}, {1e-3: 0.3}))
    assert ratio.tolerance == CHECK_RATIO.tolerance and region.tolerance == CHECK_REGION.tolerance
