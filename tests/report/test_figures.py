"""Figures are checked for what they must show (curves, theory line, scales, legend size), not pixels."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest

from descentlab.report import figures as F
from tests.report.conftest import LRS, MOMENTA, SEEDS


def labelled_lines(ax) -> list[str]:
    return [line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")]


def dashed(ax) -> list:
    return [line for line in ax.get_lines() if line.get_linestyle() == "--" and len(line.get_xdata())]


@pytest.fixture
def data(synthetic_store):
    experiment = synthetic_store.experiments()[0]
    return (
        synthetic_store.read(experiment, "runs"),
        synthetic_store.read(experiment, "curves"),
        synthetic_store.theory(experiment),
    )


def test_learning_curves_facets_colours_theory_and_log_axes(data):
    runs, curves, theory = data
    fig = F.learning_curves(runs, curves, "loss", theory=theory, theory_label="toy (pass 0.031)")
    axes = [ax for ax in fig.axes if ax.get_xlabel() == "step"]
    assert len(axes) == len(MOMENTA)  # faceted by the smaller axis (momentum), coloured by learning rate
    first = axes[0]
    assert labelled_lines(first) == [f"learning rate η={lr:.3g}" for lr in LRS] + ["toy (pass 0.031)"]
    assert first.get_xscale() == "log" and first.get_yscale() == "log"
    # one mean curve per learning rate with data; one dashed theory line per non-diverged group
    for ax, beta in zip(axes, MOMENTA, strict=True):
        alive = [lr for lr in LRS if lr / (1 - beta) < 2.0]
        solid = [line for line in ax.get_lines() if line.get_linestyle() == "-" and len(line.get_xdata())]
        assert len(solid) == len(alive)
        assert len(dashed(ax)) == len(alive)
    assert "diverged" in axes[-1].get_title()  # the panel with diverged runs says so
    # the mean is the seed mean: compare one curve with the data
    line = next(ln for ln in axes[0].get_lines() if ln.get_label() == f"learning rate η={LRS[0]:.3g}")
    ok = runs[(runs.optimizer_learning_rate == LRS[0]) & (runs.optimizer_momentum == 0.0)]["run"]
    expected = curves[(curves.metric == "loss") & curves.run.isin(ok)].groupby("step")["value"].mean()
    np.testing.assert_allclose(line.get_ydata(), expected[expected.index > 0].to_numpy())


def test_many_numeric_values_use_a_colorbar_not_a_long_legend():
    steps = np.arange(1, 20)
    lrs = np.geomspace(0.01, 1.0, 15)
    runs = pd.DataFrame({"run": range(15), "seed": 0, "status": "ok", "optimizer_learning_rate": lrs})
    curves = pd.DataFrame(
        [
            {"run": r, "step": int(t), "metric": "loss", "value": 1.0 / (1 + lr * t)}
            for r, lr in enumerate(lrs)
            for t in steps
        ]
    )
    fig = F.learning_curves(runs, curves, "loss")
    ax = fig.axes[0]
    assert len([ln for ln in ax.get_lines() if len(ln.get_xdata())]) == 15
    assert len(labelled_lines(ax)) <= F.MAX_LEGEND
    assert any(a.get_ylabel() == "learning rate η" or a.get_xlabel() == "learning rate η" for a in fig.axes[1:]), (
        "a colorbar labelled with the swept axis"
    )
    assert ax.get_legend() is None or len(ax.get_legend().get_texts()) <= F.MAX_LEGEND


def test_categorical_axis_keeps_a_legend_capped_at_ten():
    names = [f"opt{i:02d}" for i in range(14)]
    runs = pd.DataFrame({"run": range(14), "seed": 0, "status": "ok", "optimizer_name": names})
    curves = pd.DataFrame(
        [{"run": r, "step": t, "metric": "loss", "value": 1.0 + r / (1 + t)} for r in range(14) for t in range(1, 6)]
    )
    fig = F.learning_curves(runs, curves, "loss", logy=False)
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert 2 <= len(texts) <= F.MAX_LEGEND and texts[-1] == "name=opt13"
    assert fig.axes[0].get_yscale() == "linear"


def test_heatmap_means_and_divergence_marks(data):
    runs, _, _ = data
    fig = F.heatmap(runs, "optimizer_learning_rate", "optimizer_momentum", "loss")
    ax = fig.axes[0]
    mesh = next(c for c in ax.collections if isinstance(c, matplotlib.collections.QuadMesh))
    values = np.ma.getdata(mesh.get_array()).reshape(len(MOMENTA), len(LRS))
    mask = np.ma.getmaskarray(mesh.get_array()).reshape(len(MOMENTA), len(LRS))
    for iy, beta in enumerate(MOMENTA):
        for ix, lr in enumerate(LRS):
            cell = runs[(runs.optimizer_learning_rate == lr) & (runs.optimizer_momentum == beta)]
            if lr / (1 - beta) >= 2.0:
                assert mask[iy, ix]
            else:
                assert values[iy, ix] == pytest.approx(cell["final_loss"].mean())
    assert sum(t.get_text() == "×" for t in ax.texts) == int(mask.sum())
    assert [t.get_text() for t in ax.get_xticklabels()] == [f"{v:.3g}" for v in LRS]
    assert ax.get_xlabel() == "learning rate η" and ax.get_ylabel() == "momentum"
    trainability = F.heatmap(runs, "optimizer_learning_rate", "optimizer_momentum", "diverged").axes[0]
    mesh = next(c for c in trainability.collections if isinstance(c, matplotlib.collections.QuadMesh))
    fractions = np.asarray(mesh.get_array()).reshape(len(MOMENTA), len(LRS))
    assert fractions.sum() == pytest.approx(int((runs.status == "diverged").sum()) / SEEDS)
    with pytest.raises(KeyError, match="no final metric 'nope'"):
        F.heatmap(runs, "optimizer_learning_rate", "optimizer_momentum", "nope")


def test_probe_panels_with_stability_lines(data):
    runs, curves, _ = data
    assert F.probe_metrics(sorted(curves.metric.unique())) == ["sharpness", "ntk_alignment", "overlap_m"]
    fig = F.probe_panels(runs, curves)
    visible = [ax for ax in fig.axes if ax.get_visible() and ax.get_xlabel() == "step"]
    assert len(visible) == 3 * len(MOMENTA)  # rows: probes, columns: momentum
    sharp = [ax for ax in visible if ax.get_title().startswith("sharpness")]
    for ax, beta in zip(sharp, MOMENTA, strict=True):
        lines = {round(float(line.get_ydata()[0]), 6) for line in dashed(ax)}
        alive = [lr for lr in LRS if lr / (1 - beta) < 2.0]
        assert lines == {round(2 * (1 + beta) / lr, 6) for lr in alive}
        assert labelled_lines(ax)[-1] == ("2/η" if beta == 0 else "2(1+β)/η")
    for ax in visible:
        if not ax.get_title().startswith("sharpness"):
            assert not dashed(ax)
    with pytest.raises(ValueError, match="no probe metric"):
        F.probe_panels(runs, curves[curves.metric == "loss"])


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({"optimizer_learning_rate": 0.5}, (4.0, "2/η")),
        ({"optimizer_learning_rate": 0.5, "optimizer_momentum": 0.5}, (6.0, "2(1+β)/η")),
        (
            {"optimizer_learning_rate": 0.5, "optimizer_momentum": 0.5, "optimizer_nesterov": True},
            (3.0, "(2+2β)/((1+2β)η)"),
        ),
        ({"optimizer_name": "lbfgs"}, None),
    ],
)
def test_stability_threshold(row, expected):
    assert F.stability_threshold(pd.Series(row)) == expected


def test_final_vs_axis_and_save(data, tmp_path):
    runs, _, _ = data
    fig = F.final_vs_axis(runs, "loss", axis="optimizer_learning_rate")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "learning rate η"
    assert len(labelled_lines(ax)) == len(MOMENTA)
    paths = F.save(fig, tmp_path, "final")
    assert sorted(paths) == ["pdf", "png", "svg"]
    assert all((tmp_path / f"final.{fmt}").stat().st_size > 1000 for fmt in paths)


def test_log_axes_get_plain_tick_labels_not_raw_mathtext(tmp_path):
    """STYLE turns mathtext off (a name a user wrote is never math), so log ticks are written as Unicode text."""
    import matplotlib.pyplot as plt

    from descentlab.report import figures as F

    with plt.rc_context(F.STYLE):
        fig, (left, right) = plt.subplots(1, 2)
        left.loglog([1, 10, 1000], [1e-3, 1e-1, 1])
        right.semilogy([0, 1], [0.2, 0.6])  # less than a decade: minor ticks labelled
        F.save(fig, tmp_path, "ticks", formats=("png",))
        fig.canvas.draw()
        labels = [
            t.get_text()
            for ax in fig.axes
            for axis in (ax.xaxis, ax.yaxis)
            for t in axis.get_ticklabels(which="both")
            if t.get_text()
        ]
    assert labels and not [label for label in labels if "$" in label or "mathdefault" in label], labels
    assert "10⁻³" in labels and "2×10⁻¹" in labels, labels
