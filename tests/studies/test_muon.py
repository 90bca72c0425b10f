"""The muon study passes at --quick; its verdict logic rejects wrong inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from descentlab.studies import StudyOptions, run_study
from descentlab.studies.muon import (
    CHECK_ISOTROPIC,
    CHECK_SPEEDUP,
    ISOTROPIC,
    LOW_RANK,
    judge_no_speedup,
    judge_speedup,
    speedups,
    steps_to_target,
)


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    return run_study("muon", tmp_path_factory.mktemp("store"), StudyOptions(quick=True), report=False)


def test_quick_passes(outcome):
    for v in outcome.analysis.verdicts:
        assert v.passed, v
    assert outcome.analysis.verdicts[0].check == CHECK_SPEEDUP.name
    assert len(outcome.analysis.figures) == 3


def _summary(speed_low: float, speed_iso: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "hessian rank k": [LOW_RANK[0], ISOTROPIC[0]],
            "condition κ": [LOW_RANK[1], ISOTROPIC[1]],
            "speed-up": [speed_low, speed_iso],
        }
    )


def test_verdicts_reject_wrong_inputs():
    tol, iso_tol = CHECK_SPEEDUP.tolerance, CHECK_ISOTROPIC.tolerance
    assert judge_speedup(_summary(3.0, 0.1), LOW_RANK, tol)[1]
    assert not judge_speedup(_summary(1.2, 0.1), LOW_RANK, tol)[1]
    assert not judge_speedup(_summary(np.nan, 0.1), LOW_RANK, tol)[1]
    assert not judge_speedup(_summary(3.0, 0.1), (4, 10.0), tol)[1]  # missing cell
    assert judge_no_speedup(_summary(3.0, 0.5), ISOTROPIC, iso_tol)[1]
    assert not judge_no_speedup(_summary(3.0, 1.5), ISOTROPIC, iso_tol)[1]
    assert not judge_no_speedup(_summary(3.0, np.nan), ISOTROPIC, iso_tol)[1]


def test_steps_to_target_and_speedup():
    runs = pd.DataFrame({"run": [0, 1, 2], "status": ["ok", "ok", "diverged"]})
    curves = pd.DataFrame(
        {
            "run": [0, 0, 0, 1, 1, 1, 2, 2, 2],
            "step": [0, 1, 2] * 3,
            "metric": "suboptimality",
            "value": [1.0, 0.5, 1e-4, 2.0, 1e-3, 1e-5, 1.0, 1e-4, 1e-5],
        }
    )
    got = steps_to_target(runs, curves, 1e-3)["steps_to_target"].tolist()
    assert got == [2.0, 1.0, np.inf]  # 2.0·1e-3 reached at step 1; a diverged run never counts
    best = pd.DataFrame(
        {"cell": ["a", "a", "b", "b"], "optimizer": ["gd", "muon"] * 2, "steps_to_target": [60, 15, 2, np.inf]}
    )
    s = speedups(best)
    assert s["a"] == 4.0 and s["b"] == 0.0
