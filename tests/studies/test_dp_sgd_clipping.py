"""dp-sgd-clipping: an interior optimum near the typical gradient norm at --quick size; a mislabelled sweep fails.

The must-fail controls (no privacy noise, no clipping) run in test_controls."""

from __future__ import annotations

import numpy as np
import pytest

from descentlab.store import Store
from descentlab.studies import STUDIES, StudyOptions, run_study
from descentlab.studies.dp_sgd_clipping import interior_optimum, zcdp_epsilon, zcdp_rho

QUICK = StudyOptions(quick=True)


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    return run_study("dp-sgd-clipping", Store(tmp_path_factory.mktemp("store")), QUICK)


def test_quick_verdicts_pass(outcome):
    for verdict in outcome.analysis.verdicts:
        assert verdict.passed, verdict.line()
    table = outcome.analysis.summary
    risks = table["final risk (mean)"].to_numpy()
    assert risks[-1] > 10 * risks.min()  # lax clipping drowns the signal in privacy noise
    assert 1.5 < table["epsilon"].iloc[0] < table["epsilon (zCDP conversion)"].iloc[0] < 3.0
    assert table["rho (zCDP)"].iloc[0] == pytest.approx(1 / 8)


def test_zcdp_of_the_gaussian_mechanism():
    assert zcdp_rho(2.0) == pytest.approx(0.125) and zcdp_rho(0.0) == np.inf
    assert zcdp_epsilon(0.125, 1e-5) == pytest.approx(0.125 + 2 * np.sqrt(0.125 * np.log(1e5)))


def test_only_an_interior_optimum_with_clearly_worse_neighbours_counts():
    clips = np.logspace(-2, 1, 7)
    stderr = np.full(7, 0.01)
    valley = (np.log(clips) - np.log(0.3)) ** 2 + 1.0
    interior, c_star, risk, margin = interior_optimum(clips, valley, stderr)
    assert interior and margin > 3 and risk == pytest.approx(1.0, rel=0.05)
    assert c_star == pytest.approx(0.3, rel=0.05)  # interpolated between grid points
    assert not interior_optimum(clips, np.linspace(2.0, 1.0, 7), stderr)[0]  # minimum at the edge
    plateau = np.array([2.0, 1.5, 1.2, 1.0, 0.999, 1.0, 1.0])
    assert not interior_optimum(clips, plateau, stderr)[0]  # neighbours within the seed spread


def test_claim_fails_when_clipping_constants_are_mislabelled(outcome, tmp_path):
    result = outcome.results[0]
    runs = result.runs.copy()
    runs["optimizer_l2_norm_clip"] = runs.optimizer_l2_norm_clip * 100  # as if every C were 100× larger

    class Relabelled:
        def __init__(self):
            self.runs, self.curves = runs, result.curves

    analysis = STUDIES.get("dp-sgd-clipping")().analyze([Relabelled()], tmp_path, QUICK)
    assert not analysis.verdicts[0].passed and analysis.verdicts[0].figure > 3
