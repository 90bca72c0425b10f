"""pep-bounds: the three verdicts pass at --quick; the verdict helpers reject wrong inputs (the controls run in
test_controls)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from descentlab.store import Store
from descentlab.studies import StudyOptions, run_study
from descentlab.studies.pep_bounds import (
    CHECK_PEP_UNDER_CLASSICAL,
    CHECK_TIGHT,
    CHECK_UNDER_PEP,
    headline_verdicts,
    huber_width,
    initial_and_measured,
    ratios,
)


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    return run_study("pep-bounds", Store(tmp_path_factory.mktemp("store")), StudyOptions(quick=True), report=False)


def test_quick_verdicts_pass(outcome):
    for verdict in outcome.analysis.verdicts:
        assert verdict.passed, verdict.line()
    table = outcome.analysis.summary
    assert set(table["case"]) == {
        "GD, smooth convex",
        "GD, strongly convex",
        "heavy ball, strongly convex",
        "extragradient, strongly convex",
    }
    assert table["diverged"].sum() == 0


def test_the_worst_case_huber_reaches_the_bound_and_the_quadratics_stay_below(outcome):
    table = outcome.analysis.summary
    huber = table[(table["case"] == "GD, smooth convex") & table["runs"].str.startswith("Huber δ = 0.0588, L = 1")]
    assert len(huber) == 1 and abs(huber["max measured/PEP (t ≥ 1)"].iloc[0] - 1) < CHECK_TIGHT.tolerance
    quadratic = table[table["runs"] == "quadratic κ = 10"]
    assert (quadratic["max measured/PEP (t ≥ 1)"] < 0.9).all()
    assert huber_width(8) == pytest.approx(1 / 17)


def test_ratios_treat_divergence_and_nan_as_a_violation():
    measured = pd.DataFrame({"run": [0, 0, 1, 2], "step": [0, 1, 1, 1], "value": [1.0, 0.2, 0.1, np.nan], "r0": 1.0})
    got = ratios(measured, {0: 1.0, 1: 0.25}, diverged={1})
    np.testing.assert_allclose(got, [1.0, 0.8, np.inf, np.inf])


def test_initial_and_measured_squares_distances_and_reads_the_start():
    curves = pd.DataFrame(
        {
            "run": [0, 0, 0, 0],
            "step": [0, 1, 0, 1],
            "metric": ["distance_to_optimum", "distance_to_optimum", "suboptimality", "suboptimality"],
            "value": [2.0, 1.0, 5.0, 3.0],
        }
    )
    got = initial_and_measured(curves, "suboptimality", "distance")
    assert got["r0"].tolist() == [4.0, 4.0] and got["value"].tolist() == [5.0, 3.0]
    got = initial_and_measured(curves, "distance", "suboptimality")
    assert got["r0"].tolist() == [5.0, 5.0] and got["value"].tolist() == [4.0, 1.0]


def test_verdicts_reject_a_run_over_the_bound_a_loose_classical_bound_or_a_bound_not_attained():
    assert all(v.passed for v in headline_verdicts(1.0 + 5e-9, 0.96, 2e-8))
    over, above, loose = headline_verdicts(1.0 + 1e-3, 1.0 + 1e-3, 1e-2)
    assert not over.passed and not above.passed and not loose.passed
    assert [over.check, above.check, loose.check] == [
        CHECK_UNDER_PEP.name,
        CHECK_PEP_UNDER_CLASSICAL.name,
        CHECK_TIGHT.name,
    ]
    assert not headline_verdicts(np.inf, 0.5, 0.0)[0].passed
    assert not headline_verdicts(np.nan, 0.5, 0.0)[0].passed
