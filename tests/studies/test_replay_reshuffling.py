"""replay-reshuffling at --quick size: the error floor of a replay buffer sampled with replacement scales as γ, by
reshuffling (uniform RR, prioritized RR-M) as γ², and reshuffling's floor is lower at every step; the verdict
logic refuses synthetic floors that break either claim."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from descentlab.store import Store
from descentlab.studies import StudyOptions, run_study
from descentlab.studies.replay_reshuffling import (
    CHECK_EXPONENTS,
    FAMILIES,
    bootstrap_slopes,
    floor_ratios,
    predicted_exponents,
)
from descentlab.studies.shuffling import slope_table

QUICK = StudyOptions(quick=True)
GAMMAS = np.array([0.003, 0.01, 0.03])


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    return run_study("replay-reshuffling", Store(tmp_path_factory.mktemp("store")), QUICK)


def test_passes_at_quick(outcome):
    headline, below = outcome.analysis.verdicts
    assert headline.passed and headline.figure < CHECK_EXPONENTS.tolerance, headline.line()
    assert below.passed and below.figure < 1.0, below.line()
    slopes = outcome.analysis.summary
    slopes = slopes[slopes.part == "floor exponent"].set_index("sampler")
    assert set(slopes.index) == {s for family in FAMILIES.values() for s in family[:2]}
    assert (slopes["bootstrap SD"] < CHECK_EXPONENTS.tolerance / 4).all()


def synthetic(exponents: dict[str, float], scale: dict[str, float] | None = None) -> pd.DataFrame:
    """A ``floors`` table with floor = scale · γ^exponent per sampler."""
    scale = scale or {}
    rows = [
        {"sampler_name": s, "optimizer_learning_rate": g, "floor": scale.get(s, 1.0) * g**e, "sem": 0.0}
        for s, e in exponents.items()
        for g in GAMMAS
    ]
    return pd.DataFrame(rows)


def worst_error(table: pd.DataFrame, shift: float = 0.0) -> float:
    return float(slope_table(table, predicted_exponents(shift))["|error|"].max())


def test_exponent_verdict_accepts_the_laws_and_refuses_others():
    right = predicted_exponents()
    assert worst_error(synthetic(right)) == pytest.approx(0.0, abs=1e-9)
    assert not CHECK_EXPONENTS.verdict(worst_error(synthetic(right), shift=-1.0)).passed
    for sampler in right:  # any one sampler on the other law fails
        wrong = {**right, sampler: 3.0 - right[sampler]}
        assert not CHECK_EXPONENTS.verdict(worst_error(synthetic(wrong))).passed
    slightly = {s: e + 0.1 for s, e in right.items()}
    assert CHECK_EXPONENTS.verdict(worst_error(synthetic(slightly))).passed


def test_floor_ratio_finds_any_step_where_reshuffling_is_not_below():
    laws = predicted_exponents()
    ratios = floor_ratios(synthetic(laws))
    assert (ratios.ratio < 1).all()  # γ² < γ for γ < 1
    # RR-M's floor 200 × larger: above with replacement at the largest step only (200 · 0.03² > 0.03)
    ratios = floor_ratios(synthetic(laws, {"prioritized_reshuffling": 200.0}))
    assert ratios.ratio.max() > 1
    top = ratios.loc[ratios.ratio.idxmax()]
    assert top.family == "prioritized" and top.learning_rate == GAMMAS[-1]


def test_bootstrap_spread_shrinks_with_quieter_seeds():
    rng = np.random.default_rng(1)

    def per_seed(noise: float) -> pd.DataFrame:
        rows = [
            {
                "sampler_name": "with_replacement",
                "optimizer_learning_rate": g,
                "seed": s,
                "value": g * rng.lognormal(0, noise),
            }
            for g in GAMMAS
            for s in range(16)
        ]
        return pd.DataFrame(rows)

    loud, quiet = bootstrap_slopes(per_seed(0.5)), bootstrap_slopes(per_seed(0.05))
    assert quiet["with_replacement"] < loud["with_replacement"] / 4
    assert bootstrap_slopes(per_seed(0.0))["with_replacement"] == pytest.approx(0.0, abs=1e-12)
