"""The runs/curves layout helpers: seed means over ok runs, within one experiment and across several."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from descentlab.store.schema import run_key, seed_mean


def _tables(experiments: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two runs per experiment numbered 0 and 1 (as the engine numbers them), run 1 of the last one diverged."""
    runs, curves = [], []
    for i, experiment in enumerate(experiments):
        for run in (0, 1):
            status = "diverged" if (i == len(experiments) - 1 and run == 1) else "ok"
            runs.append({"experiment": experiment, "run": run, "status": status, "problem_dim": 10 * (i + 1)})
            for step in (0, 5):
                value = 100.0 * i + run + step
                curves.append({"experiment": experiment, "run": run, "step": step, "metric": "loss", "value": value})
    return pd.DataFrame(runs), pd.DataFrame(curves)


def test_seed_mean_over_the_ok_runs_of_one_experiment():
    runs, curves = _tables(["a"])
    assert run_key(runs, curves) == ["run"]
    means = seed_mean(runs, curves, "loss")  # run 1 diverged: one seed left, no standard error
    assert means["mean"].tolist() == [0.0, 5.0] and means["count"].tolist() == [1, 1]
    assert means["stderr"].isna().all()
    runs["status"] = "ok"
    means = seed_mean(runs, curves, "loss")
    assert means["mean"].tolist() == [0.5, 5.5] and means["count"].tolist() == [2, 2]
    assert means["stderr"].to_numpy() == pytest.approx(np.full(2, np.sqrt(0.5) / np.sqrt(2)))


def test_seed_mean_across_experiments_keys_runs_by_experiment_and_run():
    """Run numbers repeat across experiments; merging on the run alone would pair every curve with every row."""
    runs, curves = _tables(["a", "b"])
    assert run_key(runs, curves) == ["experiment", "run"]
    means = seed_mean(runs, curves, "loss", by=["problem_dim"]).set_index(["problem_dim", "step"])
    assert means.loc[(10, 5), "mean"] == 5.5 and means.loc[(10, 5), "count"] == 2
    assert means.loc[(20, 5), "mean"] == 105.0 and means.loc[(20, 5), "count"] == 1  # the diverged run left out
    pooled = seed_mean(runs, curves, "loss").set_index("step")
    assert pooled.loc[0, "count"] == 3 and pooled.loc[0, "mean"] == pytest.approx((0 + 1 + 100) / 3)
