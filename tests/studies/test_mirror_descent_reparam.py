"""mirror-descent-reparam: the O(η) trajectory order and the sparse/dense contrast at --quick size; the verdict
logic on synthetic numbers (the must-fail controls run in test_controls)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from descentlab.store import Store
from descentlab.studies import StudyOptions, run_study
from descentlab.studies.mirror_descent_reparam import (
    CHECK_DENSE,
    CHECK_ORDER,
    CHECK_SPARSE,
    SIZES,
    TIMES,
    advantage,
    checkpoints,
    compare_steps,
    order_figure,
    step_grid,
    trajectory_gaps,
)

QUICK = StudyOptions(quick=True)


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    return run_study("mirror-descent-reparam", Store(tmp_path_factory.mktemp("store")), QUICK)


def test_quick_verdicts_pass(outcome):
    assert [v.check for v in outcome.analysis.verdicts] == [CHECK_ORDER.name, CHECK_SPARSE.name, CHECK_DENSE.name]
    for verdict in outcome.analysis.verdicts:
        assert verdict.passed, verdict.line()
    summary = outcome.analysis.summary
    gaps = summary.dropna(subset=["gap"]).sort_values("eta")
    assert len(gaps) == len(step_grid(SIZES["quick"]))
    assert np.all(np.diff(gaps.gap.to_numpy()) > 0)  # the gap shrinks with the step


def test_every_compared_step_is_a_checkpoint():
    etas = step_grid(SIZES["quick"])
    total = compare_steps(min(etas))[-1]
    grid = set(checkpoints(etas, total))
    for eta in etas:
        steps = compare_steps(eta)
        assert set(steps) <= grid
        assert np.allclose([4 * eta * s for s in steps], TIMES)


def _curves(etas, gap_of_eta):
    """Synthetic reparam/EG curves whose relative gap at every compared step is gap_of_eta(η)."""
    reparam, eg = [], []
    for eta in etas:
        for step in compare_steps(eta):
            value = 0.1 + 1.0 / (1 + step * eta)
            eg.append({"eta": eta, "step": step, "value": value})
            reparam.append({"eta": eta, "step": step, "value": value * (1 + gap_of_eta(eta))})
    return pd.DataFrame(reparam), pd.DataFrame(eg)


@pytest.mark.parametrize(
    ("law", "passes"),
    [
        (lambda e: 0.8 * e, True),
        (lambda e: 0.3 + 0 * e, False),
        (lambda e: np.sqrt(e), False),
        (lambda e: 5 * e**2, False),
    ],
)
def test_the_order_verdict_accepts_only_a_first_order_gap(law, passes):
    etas = step_grid(SIZES["default"])
    gaps = trajectory_gaps(*_curves(etas, law), etas)
    slope, _, _ = order_figure(gaps)
    assert CHECK_ORDER.verdict(abs(slope - 1.0)).passed is passes


def test_the_order_verdict_fails_on_missing_gaps():
    etas = step_grid(SIZES["quick"])
    reparam, eg = _curves(etas, lambda e: e)
    gaps = trajectory_gaps(reparam[reparam.eta > min(etas) * 3], eg, etas)
    assert gaps.gap.isna().sum() == 2
    slope, _, _ = order_figure(gaps)
    assert not CHECK_ORDER.verdict(abs(slope - 1.0) if np.isfinite(slope) else float("nan")).passed


def test_the_advantage_ratio_uses_the_worse_of_reparam_and_eg():
    finals = pd.DataFrame(
        {
            "method": ["gd", "reparam", "reparam", "eg", "eg"],
            "teacher_decay": [6.0] * 5,
            "eta": [0.1, 0.05, 0.025, 0.05, 0.025],
            "final": [0.36, 0.06, 0.9, 0.09, 0.9],
        }
    )
    assert advantage(finals, 6.0) == pytest.approx(4.0)  # the largest η's: 0.36 / max(0.06, 0.09)
    assert CHECK_SPARSE.verdict(4.0, 4.0 >= CHECK_SPARSE.tolerance).passed
    worse = finals.assign(final=[0.36, 0.06, 0.9, 0.2, 0.9])
    ratio = advantage(worse, 6.0)
    assert ratio == pytest.approx(1.8) and not CHECK_SPARSE.verdict(ratio, ratio >= CHECK_SPARSE.tolerance).passed
    assert not CHECK_DENSE.verdict(advantage(finals, 6.0)).passed  # a sparse-like advantage fails the dense check
    assert np.isnan(advantage(finals[finals.method != "eg"], 6.0))
