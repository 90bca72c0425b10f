"""siren-ntk-alignment at --quick size: the loss-rate peak, the NTK–task alignment, the residual waves and the
predicted onset of diffusion fall within the declared window; the transition finders and the verdict logic reject
wrong inputs. The must-fail controls (relu, omega-300) run in tests/studies/test_controls.py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from descentlab.store import Store
from descentlab.studies import StudyOptions, run_study
from descentlab.studies.siren_ntk_alignment import (
    CHECK_OBSERVED,
    CHECK_TOGETHER,
    TRANSITIONS,
    half_change,
    rate_peak,
    span,
    verdicts_from,
)

QUICK = StudyOptions(quick=True)


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    return run_study("siren-ntk-alignment", Store(tmp_path_factory.mktemp("store")), QUICK, report=False)


def test_quick_verdicts_pass(outcome):
    for verdict in outcome.analysis.verdicts:
        assert verdict.passed, verdict.line()


def test_every_transition_is_found_and_the_prediction_precedes_the_waves(outcome):
    table = outcome.analysis.summary
    assert len(table) == 3
    values = table.iloc[:, 1:5].to_numpy(float)
    assert np.all(np.isfinite(values)) and np.all(values > 1)
    assert np.all(table["predicted onset ψ = 1"] < table["residual waves (half drop)"])


STEPS = np.unique(np.round(np.geomspace(1, 1000, 40))).astype(float)


def test_rate_peak_finds_the_collapse_of_a_logistic_log_loss():
    # ln L falls by 6 around t* = 100 on a log-time logistic: the log-log rate peaks at t*
    loss = np.exp(-6.0 / (1.0 + np.exp(-3.0 * (np.log(STEPS) - np.log(100.0)))))
    assert abs(np.log10(rate_peak(STEPS, loss) / 100.0)) < 0.05
    # a pure power law has a constant rate: the argmax lands on an end or noise, never a confident interior peak
    assert np.isnan(rate_peak(STEPS, STEPS**-1.0 * np.exp(-STEPS / 5000.0)))


def test_half_change_on_a_sigmoid_and_on_flat_curves():
    rise = 0.1 + 0.2 / (1.0 + np.exp(-4.0 * (np.log(STEPS) - np.log(60.0))))
    assert abs(np.log10(half_change(STEPS, rise, "up") / 60.0)) < 0.05
    assert abs(np.log10(half_change(STEPS, 1.0 - rise, "down") / 60.0)) < 0.05
    assert np.isnan(half_change(STEPS, np.full_like(STEPS, 0.3), "up"))
    assert np.isnan(half_change(STEPS, rise, "down")) or half_change(STEPS, rise, "down") <= STEPS[1]


def _table(rows: list[dict]) -> pd.DataFrame:
    table = pd.DataFrame(rows)
    table["span_all"] = [span(r, TRANSITIONS) for r in rows]
    table["span_observed"] = [span(r, ("rate", "align", "wave")) for r in rows]
    return table


def test_verdicts_accept_close_transitions_and_reject_separated_or_missing_ones():
    close = _table([{"seed": s, "rate": 100.0 + s, "align": 70.0, "wave": 120.0, "pred": 40.0 + s} for s in range(3)])
    assert all(v.passed for v in verdicts_from(close))
    apart = _table([{"seed": s, "rate": 100.0, "align": 30.0, "wave": 200.0, "pred": 40.0 + s} for s in range(3)])
    headline = verdicts_from(apart)[0]
    assert headline.check == CHECK_OBSERVED.name and not headline.passed
    early = _table([{"seed": s, "rate": 100.0, "align": 70.0, "wave": 120.0, "pred": 8.0 + s} for s in range(3)])
    verdicts = verdicts_from(early)
    assert verdicts[0].passed and not next(v for v in verdicts if v.check == CHECK_TOGETHER.name).passed
    missing = _table([{"seed": s, "rate": np.nan, "align": 70.0, "wave": 120.0, "pred": 40.0} for s in range(3)])
    verdicts = verdicts_from(missing)
    assert not verdicts[0].passed and verdicts[0].figure == np.inf
    assert not next(v for v in verdicts if v.check == CHECK_OBSERVED.name).passed
    scattered = _table(
        [{"seed": s, "rate": 100.0 * 3.0**s, "align": 70.0, "wave": 120.0, "pred": 40.0} for s in range(3)]
    )
    assert not verdicts_from(scattered)[2].passed
