"""adagrad-norm at --quick size: γ_T follows the high line, γ∞ depends on the covariance only through λ̄.

The must-fail controls (max accumulator, b₀ dominating) run in tests/studies/test_controls.py."""

from __future__ import annotations

import numpy as np
import pytest

from descentlab.store import Store
from descentlab.studies import StudyOptions, run_study
from descentlab.studies.adagrad_norm import extrapolated_limit

QUICK = StudyOptions(quick=True)


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    return run_study("adagrad-norm", Store(tmp_path_factory.mktemp("store")), QUICK, report=False)


def test_quick_verdicts_pass(outcome):
    for verdict in outcome.analysis.verdicts:
        assert verdict.passed, verdict.line()


def test_shapes_at_equal_mean_eigenvalue_share_the_limit_but_zero_one_does_not(outcome):
    table = outcome.analysis.summary.set_index(["shape", "scale"])
    assert {"isotropic", "power law ½", "two-level", "zero_one"} <= set(table.index.get_level_values(0))
    iso = table.loc[("isotropic", 1.0), "γ∞ extrapolated"]
    for shape in ("power law ½", "two-level"):
        assert abs(table.loc[(shape, 1.0), "γ∞ extrapolated"] / iso - 1) < 0.03
    # half of ‖θ₀ − θ*‖² lies in the null space of the zero-one covariance: a larger γ∞, as the high line says
    assert table.loc[("zero_one", 1.0), "γ∞ extrapolated"] > 1.5 * iso
    assert abs(table.loc[("zero_one", 1.0), "high-line dev"]) < 0.03


def test_the_spectra_really_differ(outcome):
    """Guard against a tautology: the shapes are different covariances with the same trace."""
    runs = outcome.results[0].runs
    assert set(runs.problem_alpha) == {0.0, 0.5}
    assert {r.runs.problem_spectrum.iloc[0] for r in outcome.results} == {"power_law", "two_level", "zero_one"}


def test_extrapolation_recovers_a_geometric_tail():
    """b_t² = b∞² − k R_t with R_t = ρ^t: the intercept is b∞², whatever the horizon."""
    steps = np.arange(0, 3001, 50)
    risk = 0.999 ** steps
    b_inf_sq, k, eta = 400.0, 300.0, 2.0
    gamma = eta / np.sqrt(b_inf_sq - k * risk)
    assert extrapolated_limit(steps, gamma, risk, eta) == pytest.approx(eta / 20.0, rel=1e-9)
    assert gamma[-1] > eta / 20.0 * 1.01  # the horizon value alone would be off by more than 1 %
