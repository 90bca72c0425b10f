"""dp-sgd-clipping at --quick: an interior optimum near the typical gradient norm in the paper's regime (batch 1,
one pass, n/d = 8), the paper's ODE on the measured risk, the γ²/ρ privacy cost; mislabelled sweeps fail.

The must-fail controls (no privacy noise, no clipping) run in test_controls."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from descentlab.store import Store
from descentlab.studies import STUDIES, StudyOptions, run_study
from descentlab.studies.dp_sgd_clipping import (
    in_training_multiplier,
    interior_optimum,
    rate_exponents,
    release_rho,
    sample_rho,
    trajectory_rho,
    zcdp_epsilon,
)

QUICK = StudyOptions(quick=True)


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    return run_study("dp-sgd-clipping", Store(tmp_path_factory.mktemp("store")), QUICK, report=False)


def test_quick_verdicts_pass_in_the_papers_regime(outcome):
    for verdict in outcome.analysis.verdicts:
        assert verdict.passed, verdict.line()
    runs = outcome.results[0].runs
    assert (runs.run_batch_size == 1).all()
    assert int(outcome.results[0].curves["step"].max()) == 8 * int(runs.problem_dim.iloc[0])  # one pass, n = 8d
    table = outcome.analysis.summary
    sweep = table[(table["n/d"] == 8) & (table["sweep"] == True)]  # noqa: E712 (an object column after the concat)
    headline = sweep[sweep["sigma_p"] == sweep["sigma_p"].max()]
    assert len(headline) == 7
    risks = headline.sort_values("clip C")["released risk (mean)"].to_numpy()
    assert risks[-1] > 10 * risks.min()  # lax clipping drowns the signal in privacy noise
    assert headline["rho (release)"].iloc[0] == pytest.approx(1.0, rel=0.01)


def test_privacy_of_the_released_last_iterate():
    n, rho = 1600, 1.0
    sigma_p = in_training_multiplier(n, rho)
    per_sample = sample_rho(sigma_p, n, np.arange(1, n + 1))
    assert np.all(np.diff(per_sample) > 0)  # later samples are protected by fewer noises
    assert per_sample[-1] == pytest.approx(release_rho(sigma_p, n)) and release_rho(sigma_p, n) < rho
    assert per_sample[0] == pytest.approx(rho / 3, rel=0.01)  # n in-training noises + the output noise
    assert trajectory_rho(sigma_p) == pytest.approx(n * rho / 2)  # every iterate released: O(n)
    assert release_rho(0.0, n) == np.inf
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


def test_rate_exponents_recover_a_power_law():
    gamma, rho = np.meshgrid([0.5, 0.25, 0.125], [4.0, 1.0])
    cost = pd.DataFrame({"gamma": gamma.ravel(), "rho": rho.ravel(), "cost": 0.3 * gamma.ravel() / rho.ravel()})
    np.testing.assert_allclose(rate_exponents(cost), [1.0, 1.0])
    assert np.isnan(rate_exponents(cost[cost["rho"] == 1.0])).all()  # no spread in ρ: no fit


def test_claim_fails_when_clipping_constants_are_mislabelled(outcome, tmp_path):
    results = []
    for result in outcome.results:
        runs = result.runs.copy()
        runs["optimizer_l2_norm_clip"] = runs.optimizer_l2_norm_clip * 100  # as if every C were 100× larger

        class Relabelled:
            def __init__(self, runs=runs, curves=result.curves):
                self.runs, self.curves = runs, curves

        results.append(Relabelled())
    analysis = STUDIES.get("dp-sgd-clipping")().analyze(results, tmp_path, QUICK)
    assert not analysis.verdicts[0].passed  # the released risk (output noise ∝ C²) now bottoms out at the smallest C
    assert not analysis.verdicts[1].passed  # the ODE at the mislabelled C no longer matches
