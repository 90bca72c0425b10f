"""nondifferentiable-gd: the three checks pass at --quick; each verdict rejects the wrong numbers (the must-fail
controls run in test_controls)."""

from __future__ import annotations

import numpy as np
import pytest

from descentlab.store import Store
from descentlab.studies import StudyOptions, run_study
from descentlab.studies.nondifferentiable_gd import (
    CHECK_EOS,
    CHECK_PARADOX,
    CHECK_PLATEAU,
    EPSILON,
    ETAS,
    LAMBDAS,
    late_checkpoints,
    loglog_slope,
    paradox_figure,
    plateau_error,
    sharpness_error,
)
from descentlab.theory.nonsmooth_gd import l1_plateau, pseudo_huber_cycle


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    return run_study("nondifferentiable-gd", Store(tmp_path_factory.mktemp("store")), StudyOptions(quick=True))


def test_quick_verdicts_pass(outcome):
    assert [v.check for v in outcome.analysis.verdicts] == [CHECK_PARADOX.name, CHECK_PLATEAU.name, CHECK_EOS.name]
    for verdict in outcome.analysis.verdicts:
        assert verdict.passed, verdict.line()
    table = outcome.analysis.summary
    paradox = table[table.part == "L1 paradox"]
    assert np.all(np.diff(paradox["l1 norm (subgradient)"]) > 0)  # grows with λ
    assert np.all(np.diff(paradox["l1 norm (exact Lasso)"]) < 0)  # the Lasso path shrinks
    np.testing.assert_allclose(paradox["l1 norm (proximal)"], paradox["l1 norm (exact Lasso)"], rtol=1e-3)


def test_paradox_verdict_needs_both_signs():
    lams = np.asarray(LAMBDAS)
    growing, shrinking = lams**0.4, lams**-0.5
    good = paradox_figure(loglog_slope(lams, growing), loglog_slope(lams, shrinking))
    assert good == pytest.approx(0.4) and good >= CHECK_PARADOX.tolerance
    # both shrinking (the proximal control), or both growing, or a flat subgradient norm: fail
    assert paradox_figure(loglog_slope(lams, shrinking), loglog_slope(lams, shrinking)) < CHECK_PARADOX.tolerance
    assert paradox_figure(loglog_slope(lams, growing), loglog_slope(lams, growing)) < CHECK_PARADOX.tolerance
    assert paradox_figure(loglog_slope(lams, 1 + 0 * lams), loglog_slope(lams, shrinking)) < CHECK_PARADOX.tolerance
    # a vanished norm (exact zeros) is no slope: the figure is −inf, never a pass
    assert paradox_figure(loglog_slope(lams, 0 * lams), -1.0) == float("-inf")


def test_plateau_verdict_rejects_a_converging_or_wrongly_scaled_run():
    etas, dim = np.asarray(ETAS), 50
    exact = np.asarray([l1_plateau(eta, dim) for eta in etas])
    assert plateau_error(exact, etas, dim) == pytest.approx(0.0)
    assert plateau_error(exact * 0.9, etas, dim) > CHECK_PLATEAU.tolerance
    assert plateau_error(np.full_like(exact, 1e-6), etas, dim) > CHECK_PLATEAU.tolerance  # converged: no plateau
    assert plateau_error(exact[0] * np.ones_like(exact), etas, dim) > CHECK_PLATEAU.tolerance  # not ∝ η
    assert plateau_error(np.r_[exact[:-1], np.nan], etas, dim) == float("inf")


def test_sharpness_verdict_rejects_the_edge_of_stability():
    etas = np.asarray(ETAS)
    cycle = np.asarray([pseudo_huber_cycle(eta, EPSILON)["sharpness"] for eta in etas])
    assert sharpness_error(cycle, etas, EPSILON) == pytest.approx(0.0, abs=1e-12)
    assert sharpness_error(2 / etas, etas, EPSILON) > CHECK_EOS.tolerance  # hovering at 2/η
    assert sharpness_error(np.full_like(etas, 1 / EPSILON), etas, EPSILON) > CHECK_EOS.tolerance  # at the minimizer
    assert sharpness_error(np.r_[cycle[:-1], np.nan], etas, EPSILON) == float("inf")


def test_late_checkpoints_end_with_consecutive_steps():
    grid = late_checkpoints(600)
    assert grid[0] == 0 and grid[-1] == 600 and grid[-8:] == list(range(593, 601))
    assert grid == sorted(set(grid))
