"""shuffling at --quick size: floor slopes 1 / 2 / 3 and the last iterate's K^-1/2 on ℓ1 regression; every
verdict fails when its claim is broken on purpose."""

from __future__ import annotations

import numpy as np
import pytest

from descentlab.store import Store
from descentlab.studies import STUDIES, StudyOptions, run_study
from descentlab.studies.shuffling import L1_PROBLEM, LAST_ITERATE_SIZES, SHUFFLING_SCHEMES

QUICK = StudyOptions(quick=True)


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    return run_study("shuffling", Store(tmp_path_factory.mktemp("store")), QUICK)


def part(outcome, name: str):
    summary = outcome.analysis.summary
    return summary[summary.part == name].set_index("sampler")


def test_headline_combines_both_halves(outcome):
    headline, floor, last = outcome.analysis.verdicts
    assert headline.passed and headline.figure == 0.0, headline.line()
    assert floor.passed and last.passed
    assert "error-floor slopes pass" in headline.what and "last-iterate exponent and RR advantage pass" in headline.what


def test_quick_slopes_match_theory(outcome):
    verdict = outcome.analysis.verdicts[1]
    assert verdict.passed, verdict.line()
    slopes = part(outcome, "floor vs γ")["fitted"]
    assert slopes["with_replacement"] < slopes["single_shuffle"] < slopes["random_reshuffling"]


def test_last_iterate_decays_as_inverse_sqrt_of_the_horizon(outcome):
    verdict = outcome.analysis.verdicts[2]
    assert verdict.passed, verdict.line()
    exponents = part(outcome, "last iterate vs K")["fitted"]
    for sampler in SHUFFLING_SCHEMES:
        assert -0.8 < exponents[sampler] < -0.4, (sampler, exponents[sampler])
        # the control (the smallest horizon's step read at every K) sits on its O(η) floor: no decay
        assert abs(exponents[f"{sampler} (step not scaled, control)"]) < 0.15
    final = part(outcome, "last iterate vs K")["final F − F*"]
    assert final["with_replacement"] > 1.5 * final["random_reshuffling"]  # RR's advantage at the largest K


def test_last_iterate_spec_scales_the_step_with_the_horizon(outcome):
    result = outcome.results[1]
    runs = result.runs
    assert set(runs.problem_name) == {"l1_regression"}
    horizons = np.asarray(LAST_ITERATE_SIZES["quick"]["horizons"], float)
    steps = np.sort(runs.optimizer_learning_rate.unique())[::-1]
    n = L1_PROBLEM["n_samples"]
    scale = steps * np.sqrt(n * horizons)  # η_K √(nK) is the same constant c = D/G for every K
    np.testing.assert_allclose(scale, scale[0], rtol=1e-6)
    assert 1.0 < scale[0] < 4.0  # D ≈ 3.3 (‖x*‖ with a unit-scale x₀), G = max‖xᵢ‖ ≈ 1.7
    recorded = set(result.curves.step.unique())
    assert {int(n * k) for k in horizons} <= recorded


def with_options(**extra) -> StudyOptions:
    return StudyOptions(quick=True, extra=tuple(extra.items()))


def test_fails_with_the_wrong_prediction(outcome, tmp_path):
    analysis = STUDIES.get("shuffling")().analyze(outcome.results, tmp_path, with_options(rr_floor_shift=-1.0))
    headline, floor, last = analysis.verdicts
    assert not floor.passed and floor.figure > 0.5
    assert last.passed and not headline.passed and headline.figure == 1.0


def test_last_iterate_fails_with_a_faster_predicted_rate(outcome, tmp_path):
    analysis = STUDIES.get("shuffling")().analyze(outcome.results, tmp_path, with_options(last_exponent_shift=-0.5))
    headline, floor, last = analysis.verdicts
    assert floor.passed and not last.passed and last.figure < -0.2
    assert not headline.passed and headline.figure == 1.0


def test_last_iterate_fails_with_a_step_not_scaled_with_the_horizon(outcome, tmp_path):
    analysis = STUDIES.get("shuffling")().analyze(outcome.results, tmp_path, with_options(horizon_scaled=False))
    last = analysis.verdicts[2]
    assert not last.passed and last.figure < -0.3, last.line()


def test_fails_when_sampler_labels_are_shuffled(outcome, tmp_path):
    result = outcome.results[0]
    runs = result.runs.copy()
    swap = {"random_reshuffling": "with_replacement", "with_replacement": "random_reshuffling"}
    runs["sampler_name"] = runs.sampler_name.map(lambda s: swap.get(s, s))

    class Relabelled:
        def __init__(self):
            self.runs, self.curves = runs, result.curves

    analysis = STUDIES.get("shuffling")().analyze([Relabelled()], tmp_path, QUICK)
    assert not analysis.verdicts[0].passed and not analysis.verdicts[1].passed
