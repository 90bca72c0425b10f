"""large-step-sizes: passes at --quick; its verdict logic rejects wrong curves and fractions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from descentlab.studies.base import StudyOptions, run_study
from descentlab.studies.large_step_sizes import (
    CHECK_SEPARATION,
    LOCAL_CURVATURE,
    WIDE_CURVATURE,
    basin_separation,
    run_row,
)


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    store = tmp_path_factory.mktemp("store")
    return run_study("large-step-sizes", store, StudyOptions(quick=True), report=False)


def test_passes_at_quick(outcome):
    assert [v.check for v in outcome.analysis.verdicts] == [
        "gfs-decreases",
        "monotone-increments",
        "global-basin-separation",
    ]
    assert all(v.passed for v in outcome.analysis.verdicts)


def test_a_monotone_decrease_to_below_two_over_eta_confirms():
    assert run_row(0, 0.5, np.array([5.0, 4.5, 4.0, 3.9]))["confirms"]


@pytest.mark.parametrize(
    "phi",
    [
        np.array([5.0, 4.5, 4.6, 3.9]),  # one increase
        np.array([5.0, 4.8, 4.5, 4.2]),  # never reaches 2/η = 4
        np.array([3.5, 3.5, 3.5, 3.5]),  # starts below 2/η: no edge of stability, nothing decreased
        np.array([5.0, np.nan, 4.0, 3.9]),  # a failed solve
    ],
)
def test_wrong_curves_do_not_confirm(phi):
    assert not run_row(0, 0.5, phi)["confirms"]


def test_separation_rejects_large_steps_that_stay_local():
    eta = [0.02, 0.05, 0.3, 0.6]
    good = pd.Series([0.0, 0.0, 1.0, 1.0], index=eta)
    bad = pd.Series([0.0, 0.0, 0.5, 1.0], index=eta)
    leaky = pd.Series([0.3, 0.0, 1.0, 1.0], index=eta)
    assert CHECK_SEPARATION.verdict(basin_separation(good, LOCAL_CURVATURE, WIDE_CURVATURE)).passed
    assert not CHECK_SEPARATION.verdict(basin_separation(bad, LOCAL_CURVATURE, WIDE_CURVATURE)).passed
    assert not CHECK_SEPARATION.verdict(basin_separation(leaky, LOCAL_CURVATURE, WIDE_CURVATURE)).passed
    assert np.isnan(basin_separation(pd.Series([0.0], index=[0.02]), LOCAL_CURVATURE, WIDE_CURVATURE))
