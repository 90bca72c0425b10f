"""single-location-attention: passes at --quick, and its verdict logic rejects wrong inputs (controls run in
test_controls.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from descentlab.store import Store
from descentlab.studies import StudyOptions, run_study
from descentlab.studies.single_location_attention import (
    CHECK_ODE,
    CHECK_RISK,
    CHECK_SEPARATION,
    GRAM_METRICS,
    gram_rows,
    ode_errors,
    risk_z,
    verdicts_from,
)
from descentlab.theory.single_location import linear_floor, risk

PARAMS = {"seq_len": 4, "signal": 3.0, "noise": 0.0, "mc_size": 4096}


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("store"))
    return run_study("single-location-attention", store, StudyOptions(quick=True), report=False)


def test_quick_study_passes_every_check(outcome):
    verdicts = outcome.analysis.verdicts
    assert [v.check for v in verdicts] == ["risk-formula", "overlap-ode", "separation"]
    for v in verdicts:
        assert v.passed, v.line()
    assert 0 < verdicts[0].figure < CHECK_RISK.tolerance
    assert verdicts[2].figure < 0.2  # measured 0.13: attention ends far below the linear floor
    assert len(outcome.analysis.figures) == 3


def _wide(q: np.ndarray, risk_mc: np.ndarray) -> pd.DataFrame:
    """Metric rows as gram_rows makes them, from overlaps q (n, 7) and a measured risk."""
    frame = pd.DataFrame({"run": np.arange(len(q)), "step": 10 * np.arange(len(q)), "risk_mc": risk_mc})
    for i, name in enumerate(GRAM_METRICS):
        frame[name] = np.sqrt(q[:, i]) if name in ("k_norm", "v_norm") else q[:, i]
        frame[f"q{i}"] = q[:, i]
    return frame


Q = np.array(
    [[0.01, 0.0, 0.01, 0.0, 0.0, 0.0, 0.0], [1.0, 0.01, 1.1, 0.9, 0.0, 0.0, 1.0], [3.0, 0.0, 1.1, 1.7, 0.0, 0, 1.0]]
)


def test_gram_rows_square_the_norms():
    runs = pd.DataFrame({"run": [0, 1], "status": ["ok", "diverged"]})
    curves = pd.DataFrame(
        [
            {"run": r, "step": 0, "metric": m, "value": 2.0 if m.endswith("norm") else 0.5}
            for r in (0, 1)
            for m in (*GRAM_METRICS, "risk_mc")
        ]
    )
    wide = gram_rows(runs, curves)
    assert list(wide["run"]) == [0]  # the diverged run is left out
    assert wide.loc[0, "q0"] == 4.0 and wide.loc[0, "q2"] == 4.0 and wide.loc[0, "q3"] == 0.5


def test_risk_formula_verdict_rejects_a_measured_risk_off_the_formula():
    exact = risk(Q, seq_len=4, signal=3.0)
    se = np.sqrt(exact["loss_var"] / PARAMS["mc_size"])
    errors = pd.DataFrame(
        {"curve": ["k_signal"], "max scaled error": [0.01], "at step": [0], "max scaled stderr": [0.01]}
    )
    good = risk_z(_wide(Q, exact["risk"] + 1.0 * se), PARAMS)
    np.testing.assert_allclose(good["z"], 1.0, atol=1e-6)
    assert verdicts_from(good, errors, 0.05, linear_floor(4))[0].passed
    bad = risk_z(_wide(Q, exact["risk"] * np.array([1.0, 1.0, 1.6])), PARAMS)  # the oracle-end risk 60 % off
    assert not verdicts_from(bad, errors, 0.05, linear_floor(4))[0].passed
    wrong_gamma = risk_z(_wide(Q, exact["risk"]), PARAMS, signal=2.5)  # the prediction for the wrong γ
    assert not verdicts_from(wrong_gamma, errors, 0.05, linear_floor(4))[0].passed
    nan = good.assign(z=[0.0, np.nan, 0.0])
    assert not verdicts_from(nan, errors, 0.05, linear_floor(4))[0].passed


def test_ode_and_separation_verdicts_reject_wrong_inputs():
    steps = np.arange(5)
    ode = {name: np.linspace(0.0, 1.0, 5) for name in ("k_signal", "v_overlap", "k_norm", "v_norm")}
    means = {name: pd.DataFrame({"step": steps, "mean": curve + 0.01, "stderr": 0.01}) for name, curve in ode.items()}
    scored = pd.DataFrame({"step": [0], "risk_mc": [0.5], "R": [0.5], "z": [0.0], "rel_err": [0.0]})
    errors = ode_errors(means, ode)
    assert errors["max scaled error"].max() == pytest.approx(0.01)
    assert verdicts_from(scored, errors, 0.05, 0.375)[1].passed
    means["k_norm"] = means["k_norm"].assign(mean=ode["k_norm"] * 1.1)  # ‖k‖ 10 % of its range off at the end
    assert not verdicts_from(scored, ode_errors(means, ode), 0.05, 0.375)[1].passed
    assert verdicts_from(scored, errors, 0.05, 0.375)[2].figure == pytest.approx(0.05 / 0.375)
    assert not verdicts_from(scored, errors, 0.375 * 0.9, 0.375)[2].passed  # only 10 % below the linear floor
    assert CHECK_ODE.tolerance < 0.1 and CHECK_SEPARATION.tolerance == 0.5
