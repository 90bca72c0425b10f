"""A report over many runs finishes and draws capped content: ≤ MAX_LINES groups a panel, binned heatmaps,
a runs table of at most MAX_TABLE_ROWS rows — with the bands computed from the curves of the drawn runs only."""

from __future__ import annotations

import json

import matplotlib
import numpy as np
import pyarrow as pa
import pytest

from descentlab.report import figures as F
from descentlab.report.html import MAX_TABLE_ROWS, write_report
from descentlab.report.reading import read_curves
from descentlab.store import Store

EXPERIMENT = "5ca1e00000000001"
LRS = np.geomspace(1e-3, 1.0, 500)
MOMENTA = [0.0, 0.9]
SEEDS = 20
STEPS = np.array([0, 1, 10, 100, 1000])


def chunk(runs: np.ndarray) -> tuple[pa.Table, pa.Table]:
    """Runs ``runs`` of lr × momentum × seed (seed fastest), their loss curves; lr/(1−β) > 5 diverges."""
    lr, beta = LRS[runs // (SEEDS * len(MOMENTA))], np.asarray(MOMENTA)[runs // SEEDS % len(MOMENTA)]
    diverged = lr / (1 - beta) > 5
    loss = np.exp(-np.outer(lr, STEPS) / 100) * (1 + 0.01 * (runs % SEEDS))[:, None]
    runs_table = pa.table(
        {
            "experiment": [EXPERIMENT] * len(runs),
            "run": runs,
            "name": [f"r{r}" for r in runs],
            "group": 0 * runs,
            "seed": runs % SEEDS,
            "status": np.where(diverged, "diverged", "ok").tolist(),
            "divergence_step": pa.array(np.full(len(runs), 10), mask=~diverged),
            "optimizer_name": ["momentum"] * len(runs),
            "optimizer_learning_rate": lr,
            "optimizer_momentum": beta,
            "final_loss": np.where(diverged, np.nan, loss[:, -1]),
        }
    )
    curves_table = pa.table(
        {
            "experiment": [EXPERIMENT] * loss.size,
            "run": np.repeat(runs, len(STEPS)),
            "step": np.tile(STEPS, len(runs)),
            "metric": ["loss"] * loss.size,
            "value": loss.reshape(-1),
        }
    )
    return runs_table, curves_table


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Store:
    store = Store(tmp_path_factory.mktemp("scale") / "runs")
    n_runs = len(LRS) * len(MOMENTA) * SEEDS
    spec = {"name": "many-runs", "optimizer": {"name": "momentum"}, "run": {"steps": int(STEPS[-1]), "seeds": SEEDS}}
    for start in range(0, n_runs, 5000):
        store.write_chunk(EXPERIMENT, f"chunk-{start:06d}", *chunk(np.arange(start, start + 5000)))
    store.write_experiment(
        EXPERIMENT,
        {
            "experiment": EXPERIMENT,
            "name": "many-runs",
            "spec": json.dumps(spec),
            "created_at": "2025-01-01",
            "n_runs": n_runs,
            "status": "complete",
            "steps": int(STEPS[-1]),
            "versions": "{}",
        },
        spec,
    )
    return store


def test_bands_aggregate_only_the_drawn_runs(store):
    runs = store.read(EXPERIMENT, "runs")
    asked = []
    bands = F.seed_bands(runs, lambda ids: asked.append(ids) or read_curves(store, EXPERIMENT, ids))
    assert len(bands.groups) == len(LRS) * len(MOMENTA)
    drawn = bands.table["group"].nunique()
    assert drawn <= F.MAX_LINES * len(MOMENTA)  # faceted by momentum: ≤ 24 lines a panel
    assert len(asked[0]) <= drawn * SEEDS < len(runs) / 10
    # a drawn group's band is its seeds' mean and quantiles
    code = bands.table["group"].iloc[0]
    members = runs[
        (runs.optimizer_learning_rate == bands.groups.loc[code, "optimizer_learning_rate"])
        & (runs.optimizer_momentum == bands.groups.loc[code, "optimizer_momentum"])
    ]
    curves = read_curves(store, EXPERIMENT, members["run"].to_numpy())
    last = curves[(curves.metric == "loss") & (curves.step == STEPS[-1])]["value"]
    band = bands.band(code, "loss").set_index("step").loc[STEPS[-1]]
    assert band["mean"] == pytest.approx(last.mean()) and band["hi"] == pytest.approx(last.quantile(0.9))
    assert band["n"] == SEEDS

    fig = F.learning_curves(runs, bands, "loss")
    panels = [ax for ax in fig.axes if ax.get_xlabel() == "step"]
    assert len(panels) == len(MOMENTA)
    for ax in panels:
        assert len([ln for ln in ax.get_lines() if len(ln.get_xdata())]) <= F.MAX_LINES
        assert f"of {len(LRS)} groups drawn" in ax.get_title()


def test_heatmap_bins_many_values(store):
    runs = store.read(EXPERIMENT, "runs")
    ax = F.heatmap(runs, "optimizer_learning_rate", "optimizer_momentum", "loss").axes[0]
    mesh = next(c for c in ax.collections if isinstance(c, matplotlib.collections.QuadMesh))
    assert mesh.get_array().size == F.MAX_CELLS * len(MOMENTA)
    assert ax.get_xlabel() == f"learning rate η ({F.MAX_CELLS} bins)"
    assert len(ax.get_xticklabels()) <= 20


def test_report_of_many_runs_caps_the_runs_table(store):
    page = write_report(store, EXPERIMENT).read_text()
    n_runs = len(LRS) * len(MOMENTA) * SEEDS
    assert page.count("<tr") <= MAX_TABLE_ROWS + 40  # the runs table, the provenance table
    assert f"First {MAX_TABLE_ROWS} of {n_runs} runs" in page
    assert page.count("<img ") == 4  # curves, final value, heatmap, trainability map
