"""The learning-curve figure against wall-clock seconds: each group's x data is step × its seconds per step."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from descentlab.report import figures as F
from descentlab.store.schema import SECONDS_PER_STEP

STEPS = np.array([0, 10, 100, 1000])
RATES = (0.1, 0.2)
SECONDS = {0: (0.002, 0.002, 0.002), 1: (0.004, 0.006, 0.5)}
"""Seconds per step of each group's three runs; the last run of group 1 diverged (left out of its mean)."""


def _tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rows, curves = [], []
    for group, rate in enumerate(RATES):
        for seed, seconds in enumerate(SECONDS[group]):
            run = 3 * group + seed
            diverged = group == 1 and seed == 2
            rows.append(
                {
                    "experiment": "e",
                    "run": run,
                    "name": f"r{run}",
                    "group": 0,
                    "seed": seed,
                    "status": "diverged" if diverged else "ok",
                    "divergence_step": 5 if diverged else None,
                    SECONDS_PER_STEP: seconds,
                    "optimizer_learning_rate": rate,
                }
            )
            curves += [
                {"experiment": "e", "run": run, "step": s, "metric": "loss", "value": 1.0 / (1 + rate * s) + seed}
                for s in STEPS
            ]
    theory = pd.DataFrame(
        [{"step": s, "value": 1.0 / (1 + r * s), "optimizer_learning_rate": r} for r in RATES for s in STEPS]
    )
    return pd.DataFrame(rows), pd.DataFrame(curves), theory


def _lines(fig) -> dict[str, np.ndarray]:
    """x data of the solid (group) and dashed (theory) lines that have data, by colour."""
    out = {}
    for line in fig.axes[0].get_lines():
        if len(line.get_xdata()):
            out[(line.get_linestyle(), str(line.get_color()))] = np.asarray(line.get_xdata(), float)
    return out


def test_wall_clock_x_is_step_times_the_groups_seconds_per_step():
    runs, curves, theory = _tables()
    fig = F.learning_curves(runs, curves, "loss", theory=theory, x="wall_clock")
    means = {0: 0.002, 1: 0.005}  # group 1: mean of its two non-diverged runs (0.004, 0.006)
    lines = _lines(fig)
    solid = sorted((x for (style, _), x in lines.items() if style == "-"), key=lambda x: x[-1])
    dashed = sorted((x for (style, _), x in lines.items() if style == "--"), key=lambda x: x[-1])
    assert len(solid) == len(dashed) == 2
    for x, seconds in zip(solid, (means[0], means[1]), strict=True):
        np.testing.assert_allclose(x, STEPS[1:] * seconds, rtol=1e-12)  # log x: step 0 left out
    for x, seconds in zip(dashed, (means[0], means[1]), strict=True):
        np.testing.assert_allclose(x, STEPS[1:] * seconds, rtol=1e-12)
    label = fig.axes[0].get_xlabel()
    assert "wall-clock" in label and "step ×" in label and "chunk" in label
    assert F.group_seconds_per_step(runs, ["optimizer_learning_rate"]).to_dict() == pytest.approx(means)
    interactive = getattr(fig, F.INTERACTIVE)  # the interactive version has the same x data
    assert "wall-clock" in interactive["layout"]["xaxis"]["title"]["text"]
    theory_x = [np.asarray(t["x"], float) for t in interactive["data"] if t.get("line", {}).get("dash") == "dash"]
    assert sorted(x[-1] for x in theory_x) == pytest.approx([1000 * means[0], 1000 * means[1]])
    plt.close(fig)


def test_step_axis_is_unchanged_and_bad_requests_are_refused():
    runs, curves, _ = _tables()
    fig = F.learning_curves(runs, curves, "loss", logx=False)
    for x in _lines(fig).values():
        np.testing.assert_array_equal(x, STEPS)
    assert fig.axes[0].get_xlabel() == "step"
    plt.close(fig)
    with pytest.raises(ValueError, match="seconds_per_step"):
        F.learning_curves(runs.drop(columns=[SECONDS_PER_STEP]), curves, "loss", x="wall_clock")
    with pytest.raises(ValueError, match="allowed"):
        F.learning_curves(runs, curves, "loss", x="seconds")
