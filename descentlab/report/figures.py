"""Figures in one house style: learning curves with seed bands, theory overlays, final-metric sweeps.

Curves are grouped by the experiment's swept axes (every ``runs`` column that varies, except the
seed): each group is drawn as the mean over its seeds with a band from the 10th to the 90th
percentile. With two or more swept axes the first one with few values facets the figure into
panels. Continuous axes are coloured by a colormap, so a legend never lists more than ~10 entries.
Diverged runs are left out of the mean and counted in the legend.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

NON_AXES = {"experiment", "run", "name", "group", "seed", "status", "divergence_step"}
BAND = (0.1, 0.9)
STYLE = {
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "legend.frameon": False,
    "legend.fontsize": 8,
}
THEORY_STYLE = {"linestyle": "--", "linewidth": 1.6, "color": "black"}


def swept_axes(runs: pd.DataFrame) -> list[str]:
    """Columns of ``runs`` that vary across runs (hyperparameters; not seeds, statuses or finals)."""
    out = []
    for col in runs.columns:
        if col in NON_AXES or col.startswith("final_"):
            continue
        if runs[col].astype(str).nunique(dropna=False) > 1:
            out.append(col)
    return out


def axis_label(column: str) -> str:
    _section, _, field = column.partition("_")
    return {"learning_rate": "learning rate η"}.get(field, field.replace("_", " ")) if field else column


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def seed_band(curves: pd.DataFrame, run_ids: Sequence[int], metric: str) -> pd.DataFrame:
    """Mean and 10–90 % band over the given runs, per step (runs pivoted onto the common step grid)."""
    data = curves[(curves["metric"] == metric) & curves["run"].isin(run_ids)]
    if data.empty:
        return pd.DataFrame(columns=["step", "mean", "lo", "hi", "n"])
    table = data.pivot_table(index="step", columns="run", values="value", aggfunc="first").sort_index()
    values = table.to_numpy(dtype=float)
    with np.errstate(all="ignore"):
        out = pd.DataFrame({
            "step": table.index.to_numpy(),
            "mean": np.nanmean(values, axis=1),
            "lo": np.nanquantile(values, BAND[0], axis=1),
            "hi": np.nanquantile(values, BAND[1], axis=1),
            "n": np.sum(np.isfinite(values), axis=1),
        })
    return out


def _colors(values: list, numeric: bool):
    if numeric and len(values) > 1:
        finite = [float(v) for v in values]
        positive = all(v > 0 for v in finite)
        lo, hi = min(finite), max(finite)
        cmap = plt.get_cmap("viridis")

        def position(v):
            if hi == lo:
                return 0.5
            if positive:
                return (math.log(v) - math.log(lo)) / (math.log(hi) - math.log(lo))
            return (v - lo) / (hi - lo)

        return {v: cmap(0.05 + 0.85 * position(float(v))) for v in values}
    cmap = plt.get_cmap("tab10")
    return {v: cmap(i % 10) for i, v in enumerate(values)}


def _format(value) -> str:
    if isinstance(value, float | np.floating):
        return f"{value:.3g}"
    return str(value)


def learning_curves(
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    metric: str | None = None,
    theory: pd.DataFrame | None = None,
    theory_label: str = "theory",
    title: str = "",
    logy: bool = True,
    logx: bool = True,
):
    """Mean-and-band learning curves per swept value; ``theory`` adds dashed overlays.

    ``theory`` has columns ``step``, ``value`` and the swept-axis columns it belongs to (matched
    against ``runs``); one dashed line per group that has a prediction.
    """
    with plt.rc_context(STYLE):
        if metric is None:
            metric = sorted(curves["metric"].unique())[0] if len(curves) else "loss"
        axes_cols = swept_axes(runs)
        facet = None
        if len(axes_cols) >= 2:
            # facet by a categorical axis when there is one (few panels), colour by the numeric one
            facet = min(axes_cols, key=lambda c: (_is_numeric(runs[c]), runs[c].nunique()))
            color_axes = [c for c in axes_cols if c != facet]
        else:
            color_axes = axes_cols
        facet_values = sorted(runs[facet].unique(), key=str) if facet else [None]
        n = len(facet_values)
        fig, axs = plt.subplots(1, n, figsize=(4.6 * n + 0.6, 3.8), squeeze=False, sharey=True)
        color_col = color_axes[0] if color_axes else None
        color_values = sorted(runs[color_col].unique(), key=lambda v: (str(type(v)), v)) if color_col else [None]
        colors = _colors(color_values, bool(color_col) and _is_numeric(runs[color_col]))
        for ax, fval in zip(axs[0], facet_values, strict=True):
            sub = runs if facet is None else runs[runs[facet] == fval]
            keys = [c for c in color_axes]
            groups = sub.groupby(keys, dropna=False, sort=True) if keys else [((), sub)]
            for key, members in groups:
                key = key if isinstance(key, tuple) else (key,)
                ok = members[members["status"] == "ok"]
                n_div = len(members) - len(ok)
                band = seed_band(curves, ok["run"].tolist(), metric)
                label = ", ".join(f"{axis_label(c)}={_format(v)}" for c, v in zip(keys, key, strict=True)) or "mean"
                if n_div:
                    label += f" ({n_div}/{len(members)} diverged)"
                color = colors.get(key[0] if keys else None, "C0")
                if band.empty:
                    ax.plot([], [], color=color, label=label, linestyle=":")
                    continue
                if logx:
                    band = band[band["step"] > 0]
                ax.plot(band["step"], band["mean"], color=color, linewidth=1.5, label=label)
                if band["n"].max() > 1:
                    ax.fill_between(band["step"], band["lo"], band["hi"], color=color, alpha=0.2, linewidth=0)
                if theory is not None:
                    match = theory
                    for c, v in zip(keys, key, strict=True):
                        if c in match:
                            match = match[match[c] == v]
                    if facet is not None and facet in match:
                        match = match[match[facet] == fval]
                    if len(match):
                        match = match[match["step"] > 0] if logx else match
                        ax.plot(match["step"], match["value"], **{**THEORY_STYLE, "color": color},
                                label=None, zorder=5)
            if theory is not None:
                ax.plot([], [], **THEORY_STYLE, label=theory_label)
            if logx:
                ax.set_xscale("log")
            if logy:
                ax.set_yscale("log")
            ax.set_xlabel("step")
            ax.set_title(f"{axis_label(facet)} = {_format(fval)}" if facet else title, fontsize=10)
            handles, labels = ax.get_legend_handles_labels()
            if len(labels) > 11:  # keep legends short: a colorbar-like subset
                keep = sorted(set(np.linspace(0, len(labels) - 2, 9).round().astype(int)) | {len(labels) - 1})
                handles, labels = [handles[i] for i in keep], [labels[i] for i in keep]
            ax.legend(handles, labels, loc="best")
        axs[0][0].set_ylabel(metric.replace("_", " "))
        if facet is not None and title:
            fig.suptitle(title)
        fig.tight_layout()
        return fig


def final_vs_axis(runs: pd.DataFrame, metric: str, axis: str | None = None, title: str = ""):
    """Final value of ``metric`` (mean and band over seeds) against a swept numeric axis."""
    with plt.rc_context(STYLE):
        column = f"final_{metric}"
        axes_cols = swept_axes(runs)
        numeric = [c for c in axes_cols if _is_numeric(runs[c])]
        axis = axis or (numeric[-1] if numeric else None)
        fig, ax = plt.subplots(figsize=(5.2, 3.8))
        if axis is None or column not in runs:
            ax.text(0.5, 0.5, "no swept numeric axis", ha="center", va="center", transform=ax.transAxes)
            return fig
        others = [c for c in axes_cols if c != axis]
        groups = runs.groupby(others, dropna=False, sort=True) if others else [((), runs)]
        other_values = sorted({k if not isinstance(k, tuple) else k[0] for k, _ in groups}, key=str) if others \
            else [None]
        colors = _colors(other_values, bool(others) and _is_numeric(runs[others[0]]))
        for key, members in (runs.groupby(others, dropna=False, sort=True) if others else [((), runs)]):
            key = key if isinstance(key, tuple) else (key,)
            stats = members.groupby(axis)[column].agg(
                mean="mean", lo=lambda s: s.quantile(BAND[0]), hi=lambda s: s.quantile(BAND[1]),
                diverged=lambda s: int(s.isna().sum()),
            ).reset_index()
            label = ", ".join(f"{axis_label(c)}={_format(v)}" for c, v in zip(others, key, strict=True)) or "mean"
            color = colors.get(key[0] if others else None, "C0")
            ax.plot(stats[axis], stats["mean"], marker="o", color=color, label=label)
            ax.fill_between(stats[axis], stats["lo"], stats["hi"], color=color, alpha=0.2, linewidth=0)
            gone = stats[stats["mean"].isna()]
            if len(gone):
                ax.plot(gone[axis], np.full(len(gone), np.nanmax(stats["hi"]) if stats["hi"].notna().any() else 1.0),
                        "x", color=color, markersize=8)
        ax.set_xlabel(axis_label(axis))
        ax.set_ylabel(f"final {metric.replace('_', ' ')}")
        if runs[axis].min() > 0:
            ax.set_xscale("log")
        if runs[column].dropna().gt(0).all():
            ax.set_yscale("log")
        ax.set_title(title or "final value (× = all seeds diverged)", fontsize=10)
        ax.legend(loc="best")
        fig.tight_layout()
        return fig


def save(fig, folder, stem: str, formats: Sequence[str] = ("png", "svg", "pdf")) -> dict[str, str]:
    """Save ``fig`` as ``stem.<fmt>`` for each format; returns {format: path}."""
    from pathlib import Path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for fmt in formats:
        path = folder / f"{stem}.{fmt}"
        fig.savefig(path, bbox_inches="tight")
        out[fmt] = str(path)
    plt.close(fig)
    return out
