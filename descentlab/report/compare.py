"""Two experiments' learning curves in one figure (``descentlab compare A B``).

Each experiment's runs are grouped by its own swept axes and drawn as the seed mean with a
10–90 % band, as in :func:`descentlab.report.figures.learning_curves`. The experiments are told
apart by line style (A solid, B dash-dot; dashed stays reserved for theory), groups by colour,
matched by their swept values where the experiments share them — so the legend has one entry per
group plus one per experiment, and never more than ~10 entries.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from descentlab.params import SpecError
from descentlab.report import figures as F
from descentlab.store import Store
from descentlab.store.schema import swept_axes

STYLES = ("-", "-.")
PREFERRED = ("population_risk", "test_loss", "loss", "train_loss", "excess_risk", "suboptimality")


def common_metric(curves_a: pd.DataFrame, curves_b: pd.DataFrame) -> str:
    """The metric both experiments recorded: a loss-like one first, else the first in sorted order."""
    shared = (
        sorted(set(curves_a["metric"].unique()) & set(curves_b["metric"].unique()))
        if len(curves_a) and len(curves_b)
        else []
    )
    if not shared:
        raise SpecError("--metric", None, "the two experiments record no metric in common")
    return next((m for m in PREFERRED if m in shared), shared[0])


def group_bands(
    runs: pd.DataFrame, curves: pd.DataFrame, keys: list[str], metric: str
) -> list[tuple[tuple, pd.DataFrame]]:
    """(key, seed band of ``metric``) per group of ``runs`` over ``keys`` that has a non-diverged run,
    from one aggregation."""
    codes = F.group_codes(runs, keys)
    table = F.aggregate_bands(runs, np.where(runs["status"] == "ok", codes, -1), curves, [metric])
    unique, first = np.unique(codes, return_index=True)
    key_of = dict(zip(unique, runs.iloc[first][keys].itertuples(index=False, name=None), strict=True))
    return [(key_of[code], band) for code, band in table.groupby("group", sort=True)]


def seconds_by_key(runs: pd.DataFrame, keys: list[str]) -> dict[tuple, float]:
    """Each group's mean seconds per step (:func:`descentlab.report.figures.group_seconds_per_step`), by its key.

    Args:
        runs: one experiment's ``runs``, with ``seconds_per_step``.
        keys: the columns its groups are formed by.

    Returns:
        {key tuple: seconds per step} for the groups with a non-diverged run.
    """
    codes = F.group_codes(runs, keys)
    unique, first = np.unique(codes, return_index=True)
    key_of = dict(zip(unique, runs.iloc[first][keys].itertuples(index=False, name=None), strict=True))
    return {key_of[code]: float(seconds) for code, seconds in F.group_seconds_per_step(runs, keys).items()}


def compare_figure(
    store: Store,
    experiment_a: str,
    experiment_b: str,
    metric: str | None = None,
    logx: bool = True,
    logy: bool | None = None,
    x: str = "step",
):
    """A matplotlib Figure with both experiments' seed-mean curves of ``metric``.

    ``experiment_a`` / ``experiment_b``: a hash, a hash prefix or an experiment name (see
    :meth:`Store.resolve`; raises KeyError when unknown). ``metric``: default — the first metric
    both recorded, loss-like ones first; one that either lacks raises :class:`SpecError`.
    ``logy``: default — log when every value is positive. ``x="wall_clock"``: against wall-clock seconds,
    ``step ×`` each group's mean seconds per step (its vmapped chunk's time, see
    :func:`descentlab.report.figures.learning_curves`) — comparing optimizers by time.
    """
    if x not in F.X_AXES:
        raise SpecError("--x", x, "allowed: " + ", ".join(map(repr, F.X_AXES)))
    refs = [store.resolve(experiment_a), store.resolve(experiment_b)]
    data = [(store.read(e, "runs"), store.read(e, "curves"), store.experiment_row(e)) for e in refs]
    if metric is None:
        metric = common_metric(data[0][1], data[1][1])
    for (_, curves, info), ref in zip(data, refs, strict=True):
        stored = sorted(curves["metric"].unique()) if len(curves) else []
        if metric not in stored:
            raise SpecError("--metric", metric, f"metrics of {info['name']} ({ref}): " + ", ".join(stored))
    # colour groups by the union of both experiments' swept values, so shared settings share a colour
    axes = list(dict.fromkeys([*swept_axes(data[0][0]), *swept_axes(data[1][0])]))
    keys = [a for a in axes if all(a in runs for runs, _, _ in data)]
    labels: dict[tuple, str] = {}
    for runs, _, _ in data:
        for key, _members in runs.groupby(keys, dropna=False, sort=True) if keys else [((), runs)]:
            key = key if isinstance(key, tuple) else (key,)
            labels.setdefault(key, F._group_label(keys, key) if keys else "")
    ordered = sorted(labels, key=lambda k: tuple((str(type(v)), v) for v in k))
    cmap = plt.get_cmap("viridis" if len(ordered) > 10 else "tab10")
    colors = {
        k: cmap(i / max(len(ordered) - 1, 1) * 0.85 if len(ordered) > 10 else i % 10) for i, k in enumerate(ordered)
    }
    values = pd.concat([c.loc[c["metric"] == metric, "value"] for _, c, _ in data])
    if logy is None:
        logy = bool((values > 0).all())
    with plt.rc_context(F.STYLE):
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        for (runs, curves, info), style, ref in zip(data, STYLES, refs, strict=True):
            n_div = int((runs["status"] != "ok").sum())
            if x == "wall_clock":
                try:
                    seconds = seconds_by_key(runs, keys)
                except ValueError as err:
                    raise SpecError("--x", x, f"{info['name']} ({ref}): {err}") from None
            for key, band in group_bands(runs, curves, keys, metric):
                if logx:
                    band = band[band["step"] > 0]
                if band.empty:
                    continue
                along = band["step"] * seconds[key] if x == "wall_clock" else band["step"]
                ax.plot(
                    along,
                    band["mean"],
                    color=colors[key],
                    linestyle=style,
                    linewidth=1.5,
                    gid=f"{ref}:{labels[key]}",
                )
                if band["n"].max() > 1:
                    ax.fill_between(along, band["lo"], band["hi"], color=colors[key], alpha=0.15, linewidth=0)
            suffix = f" · {n_div} diverged" if n_div else ""
            ax.plot([], [], color="0.25", linestyle=style, label=f"{info['name']} ({ref[:8]}){suffix}")
        if len(ordered) <= F.MAX_LEGEND - 2 and keys:
            for key in ordered:
                ax.plot([], [], color=colors[key], linewidth=4, label=labels[key])
        if logx:
            ax.set_xscale("log")
        if logy:
            ax.set_yscale("log")
        ax.set_xlabel(F.WALL_CLOCK_LABEL if x == "wall_clock" else "step")
        ax.set_ylabel(metric.replace("_", " "))
        ax.set_title(
            f"{data[0][2]['name']} vs {data[1][2]['name']}: {metric.replace('_', ' ')} (seed mean, 10–90 % band)",
            fontsize=10,
        )
        ax.legend(loc="best")
        fig.tight_layout()
        return fig


def write_compare(
    store: Store,
    experiment_a: str,
    experiment_b: str,
    metric: str | None = None,
    out: str | Path | None = None,
    formats: tuple[str, ...] = ("png", "svg", "pdf"),
    x: str = "step",
) -> dict[str, Any]:
    """Save :func:`compare_figure` (against ``x``: step or wall_clock) as ``<out>.<fmt>`` (default
    ``<store>/compare/<a>_vs_<b>``); {fmt: path}."""
    a, b = store.resolve(experiment_a), store.resolve(experiment_b)
    fig = compare_figure(store, a, b, metric, x=x)
    target = Path(out) if out is not None else store.root / "compare" / f"{a[:8]}_vs_{b[:8]}"
    if target.suffix.lower() in (".png", ".svg", ".pdf"):
        formats, target = (target.suffix[1:].lower(),), target.with_suffix("")
    return F.save(fig, target.parent, target.name, formats)
