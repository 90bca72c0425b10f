"""line-search at --quick size: the slowdown of idealized exact line search against the best fixed step grows with
the spectral spread, the curves follow the high-line recursion, and γ_t tends to the two-eigenvalue limit.

The must-fail controls (isotropic covariance, fixed step in place of the line search) run in
tests/studies/test_controls.py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from descentlab.store import Store
from descentlab.studies import StudyOptions, run_study
from descentlab.studies.line_search import (
    CHECK_GROWS,
    CHECK_LIMIT,
    CHECK_RECURSION,
    fitted_slope,
    growth_verdicts,
    limit_verdict,
    steps_to_level,
)

QUICK = StudyOptions(quick=True)


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    return run_study("line-search", Store(tmp_path_factory.mktemp("store")), QUICK, report=False)


def test_quick_verdicts_pass(outcome):
    verdicts = outcome.analysis.verdicts
    assert verdicts[0].check == CHECK_GROWS.name
    for verdict in verdicts:
        assert verdict.passed, verdict.line()


def test_line_search_is_slower_at_the_widest_spread_and_its_step_falls(outcome):
    table = outcome.analysis.summary.sort_values("spread λ₁/λ₂")
    assert table["slowdown"].iloc[0] == pytest.approx(1.0, abs=0.05)  # isotropic: no slowdown
    assert table["slowdown"].iloc[-1] > 1.8
    limits = table.dropna(subset=["γ∞ predicted"])
    assert np.all(np.diff(limits["γ end measured"].to_numpy()) < 0)  # wider spread, smaller limiting step


def _table(spreads, slowdowns, per_seed=None) -> pd.DataFrame:
    per_seed = per_seed if per_seed is not None else [[s, s] for s in slowdowns]
    return pd.DataFrame({"spread λ₁/λ₂": spreads, "slowdown": slowdowns, "slowdown per seed": per_seed})


def test_steps_to_level_interpolates_and_reports_never():
    steps = np.array([0, 10, 20])
    assert steps_to_level(steps, np.array([1.0, 0.1, 0.001]), 1e-2) == pytest.approx(15.0)
    assert steps_to_level(steps, np.array([1.0, 0.5, 0.2]), 1e-2) == float("inf")


def test_fitted_slope_recovers_a_power_law_and_refuses_degenerate_inputs():
    spread = np.array([1.0, 2.0, 4.0, 8.0])
    assert fitted_slope(spread, 3.0 * spread**0.7) == pytest.approx(0.7)
    assert np.isnan(fitted_slope(np.ones(4), spread))
    assert np.isnan(fitted_slope(spread, np.full(4, np.inf)))


def test_growth_verdicts_reject_a_flat_slowdown_and_a_wrong_slope():
    spreads = [1.0, 2.0, 4.0, 8.0]
    recursion = pd.DataFrame({"spread λ₁/λ₂": spreads, "slowdown recursion": [1.0, 1.02, 1.24, 2.07]})
    grows, close, _ = growth_verdicts(_table(spreads, [1.0, 1.02, 1.24, 2.07]), recursion)
    assert grows.passed and close.passed and close.figure == pytest.approx(0.0, abs=1e-12)
    flat, _, _ = growth_verdicts(_table(spreads, [1.0, 1.0, 1.01, 1.0]), recursion)
    assert not flat.passed  # no slowdown: the headline fails
    steep = np.asarray(spreads) ** (0.34 + 2 * CHECK_RECURSION.tolerance)
    _, wrong, _ = growth_verdicts(_table(spreads, list(steep)), recursion)
    assert not wrong.passed
    never, _, _ = growth_verdicts(_table(spreads, [np.inf] * 4), recursion)
    assert not never.passed


def test_limit_verdict_fails_off_the_formula_or_without_a_formula():
    good = pd.DataFrame({"|γ/γ∞ − 1|": [0.01, 0.5 * CHECK_LIMIT.tolerance]})
    assert limit_verdict(good).passed
    assert not limit_verdict(pd.DataFrame({"|γ/γ∞ − 1|": [0.01, 2 * CHECK_LIMIT.tolerance]})).passed
    assert not limit_verdict(pd.DataFrame({"|γ/γ∞ − 1|": [np.nan, 0.01]})).passed
