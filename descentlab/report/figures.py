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
MAX_LEGEND = 10
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

        return {v: cmap(0.02 + 0.8 * position(float(v))) for v in values}
    cmap = plt.get_cmap("tab10")
    return {v: cmap(i % 10) for i, v in enumerate(values)}


def _format(value) -> str:
    if isinstance(value, float | np.floating):
        return f"{value:.3g}"
    return str(value)


def _group_label(keys: Sequence[str], key: tuple) -> str:
    return ", ".join(f"{axis_label(c)}={_format(v)}" for c, v in zip(keys, key, strict=True)) or "mean"


def _color_scale(runs: pd.DataFrame, color_col: str | None):
    """({value: colour}, colorbar mappable or None): a colorbar replaces the legend for >8 numeric values."""
    if color_col is None:
        return {None: "C0"}, None
    values = sorted(runs[color_col].unique(), key=lambda v: (str(type(v)), v))
    numeric = _is_numeric(runs[color_col])
    colors = _colors(values, numeric)
    if not (numeric and len(values) > MAX_LEGEND - 2):
        return colors, None
    finite = [float(v) for v in values]
    norm = (matplotlib.colors.LogNorm if min(finite) > 0 else matplotlib.colors.Normalize)(min(finite), max(finite))
    cmap = matplotlib.colors.LinearSegmentedColormap.from_list(
        "house", [colors[v] for v in values]) if len(values) > 1 else plt.get_cmap("viridis")
    return colors, matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap)


def _draw_groups(ax, runs: pd.DataFrame, curves: pd.DataFrame, metric: str, keys: list[str], color_col: str | None,
                 colors: dict, logx: bool, labelled: bool, theory: pd.DataFrame | None = None,
                 theory_filter: dict | None = None) -> int:
    """Seed mean + band of ``metric`` for every group of ``runs`` over ``keys``; returns the number of groups."""
    groups = runs.groupby(keys, dropna=False, sort=True) if keys else [((), runs)]
    count = 0
    for key, members in groups:
        key = key if isinstance(key, tuple) else (key,)
        count += 1
        ok = members[members["status"] == "ok"]
        n_div = len(members) - len(ok)
        label = _group_label(keys, key)
        if n_div:
            label += f" ({n_div}/{len(members)} diverged)"
        color = colors.get(dict(zip(keys, key, strict=True)).get(color_col), "C0") if color_col else "C0"
        band = seed_band(curves, ok["run"].tolist(), metric)
        if logx and not band.empty:
            band = band[band["step"] > 0]
        if band.empty:
            ax.plot([], [], color=color, label=label if labelled else None, linestyle=":")
            continue
        ax.plot(band["step"], band["mean"], color=color, linewidth=1.5, label=label if labelled else None)
        if band["n"].max() > 1:
            ax.fill_between(band["step"], band["lo"], band["hi"], color=color, alpha=0.2, linewidth=0)
        if theory is not None:
            match = theory
            for c, v in [*zip(keys, key, strict=True), *(theory_filter or {}).items()]:
                if c in match:
                    match = match[match[c] == v]
            if len(match):
                match = match[match["step"] > 0] if logx else match
                ax.plot(match["step"], match["value"], **{**THEORY_STYLE, "color": color}, label=None, zorder=5)
    return count


def _finish_legend(fig, ax, mappable, color_col: str | None) -> None:
    handles, labels = ax.get_legend_handles_labels()
    if len(labels) > MAX_LEGEND:  # never more than ~10 entries: keep an evenly spaced subset
        keep = sorted(set(np.linspace(0, len(labels) - 2, MAX_LEGEND - 1).round().astype(int)) | {len(labels) - 1})
        handles, labels = [handles[i] for i in keep], [labels[i] for i in keep]
    if labels:
        ax.legend(handles, labels, loc="best")
    if mappable is not None:
        fig.colorbar(mappable, ax=ax, label=axis_label(color_col), pad=0.01)


def _layout(runs: pd.DataFrame, max_facets: int = 6):
    """(facet axis or None, facet values, colour axis or None, group keys) for a figure over ``runs``.

    With two or more swept axes, the categorical (else the smallest) one facets the figure into
    panels — if it has at most ``max_facets`` values — and the first numeric one colours the lines.
    """
    axes_cols = swept_axes(runs)
    facet = None
    if len(axes_cols) >= 2:
        candidate = min(axes_cols, key=lambda c: (_is_numeric(runs[c]), runs[c].nunique()))
        if runs[candidate].nunique() <= max_facets:
            facet = candidate
    color_axes = [c for c in axes_cols if c != facet]
    color_col = next((c for c in color_axes if _is_numeric(runs[c])), color_axes[0] if color_axes else None)
    keys = [color_col, *[c for c in color_axes if c != color_col]] if color_col else []
    facet_values = sorted(runs[facet].unique(), key=lambda v: (str(type(v)), v)) if facet else [None]
    return facet, facet_values, color_col, keys


def _facet_title(runs: pd.DataFrame, facet: str | None, value, default: str = "") -> str:
    if facet is None:
        return default
    sub = runs[runs[facet] == value]
    n_div = int((sub["status"] == "diverged").sum())
    return f"{axis_label(facet)} = {_format(value)}" + (f" · {n_div}/{len(sub)} diverged" if n_div else "")


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
    against ``runs``); one dashed line per group that has a prediction, and one legend entry
    ``theory_label`` (put the verdict in it). With two or more swept axes the figure is faceted
    by the categorical (or smallest) axis; a numeric colour axis with more than 8 values gets a
    colorbar instead of legend entries. The legend is drawn on the first panel only.
    """
    with plt.rc_context(STYLE):
        if metric is None:
            metric = sorted(curves["metric"].unique())[0] if len(curves) else "loss"
        facet, facet_values, color_col, keys = _layout(runs)
        n = len(facet_values)
        fig, axs = plt.subplots(1, n, figsize=(4.6 * n + 0.6, 3.8), squeeze=False, sharey=True)
        colors, mappable = _color_scale(runs, color_col)
        for i, (ax, fval) in enumerate(zip(axs[0], facet_values, strict=True)):
            sub = runs if facet is None else runs[runs[facet] == fval]
            _draw_groups(ax, sub, curves, metric, keys, color_col, colors, logx,
                         labelled=(i == 0 and mappable is None), theory=theory,
                         theory_filter={facet: fval} if facet is not None else None)
            if theory is not None and i == 0:
                ax.plot([], [], **THEORY_STYLE, label=theory_label)
            if logx:
                ax.set_xscale("log")
            if logy:
                ax.set_yscale("log")
            ax.set_xlabel("step")
            ax.set_title(_facet_title(runs, facet, fval, title), fontsize=10)
            if i == 0:
                _finish_legend(fig, ax, None, color_col)
        if mappable is not None:
            fig.colorbar(mappable, ax=list(axs[0]), label=axis_label(color_col), pad=0.01)
        axs[0][0].set_ylabel(metric.replace("_", " "))
        if facet is not None and title:
            fig.suptitle(title)
        if mappable is None:
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


def numeric_axes(runs: pd.DataFrame) -> list[str]:
    """The swept axes whose values are numbers (candidates for a heatmap or an x axis)."""
    return [c for c in swept_axes(runs) if _is_numeric(runs[c])]


def heatmap(runs: pd.DataFrame, x_axis: str, y_axis: str, metric: str = "diverged", title: str = "",
            log_color: bool | None = None):
    """A map over two swept axes: the seed mean of ``final_<metric>`` per cell (non-diverged seeds).

    ``metric="diverged"`` draws the fraction of diverged seeds instead (the *trainability map*).
    Cells where every seed diverged are grey with a ×; cells where some diverged carry ``k/n``.
    The colour scale is logarithmic when every value is positive and they span more than a decade
    (or as ``log_color`` says). Other swept axes are averaged over.
    """
    with plt.rc_context(STYLE):
        xs = sorted(runs[x_axis].unique())
        ys = sorted(runs[y_axis].unique())
        total = runs.groupby([y_axis, x_axis]).size()
        diverged = runs.assign(_div=runs["status"] == "diverged").groupby([y_axis, x_axis])["_div"].sum()
        if metric == "diverged":
            grid = (diverged / total).unstack(x_axis).reindex(index=ys, columns=xs)
            label = "fraction of seeds diverged"
        else:
            column = f"final_{metric}"
            if column not in runs:
                raise KeyError(f"heatmap: no final metric {metric!r}; stored: "
                               + ", ".join(c[6:] for c in runs.columns if c.startswith("final_")))
            ok = runs[runs["status"] == "ok"]
            grid = ok.groupby([y_axis, x_axis])[column].mean().unstack(x_axis).reindex(index=ys, columns=xs)
            label = f"final {metric.replace('_', ' ')} (seed mean)"
        values = grid.to_numpy(dtype=float)
        finite = values[np.isfinite(values)]
        if log_color is None:
            log_color = metric != "diverged" and finite.size > 0 and finite.min() > 0 and \
                finite.max() > 10 * finite.min()
        norm = None
        if finite.size and log_color:
            norm = matplotlib.colors.LogNorm(finite.min(), finite.max())
        elif metric == "diverged":
            norm = matplotlib.colors.Normalize(0.0, 1.0)
        cmap = plt.get_cmap("magma_r" if metric == "diverged" else "viridis").with_extremes(bad="#d0d4da")
        fig, ax = plt.subplots(figsize=(max(4.6, 0.55 * len(xs) + 2.6), max(3.4, 0.42 * len(ys) + 1.8)))
        mesh = ax.pcolormesh(np.arange(len(xs) + 1) - 0.5, np.arange(len(ys) + 1) - 0.5,
                             np.ma.masked_invalid(values), cmap=cmap, norm=norm, shading="flat")
        fig.colorbar(mesh, ax=ax, label=label, pad=0.02)
        for iy, yv in enumerate(ys):
            for ix, xv in enumerate(xs):
                n = int(total.get((yv, xv), 0))
                k = int(diverged.get((yv, xv), 0))
                if n and k == n and metric != "diverged":
                    ax.text(ix, iy, "×", ha="center", va="center", color="#7a1f1f", fontsize=11)
                elif k and len(xs) * len(ys) <= 150:
                    ax.text(ix, iy, f"{k}/{n}", ha="center", va="center", color="#7a1f1f", fontsize=7)
        ax.set_xticks(range(len(xs)), [_format(v) for v in xs], rotation=45 if len(xs) > 6 else 0)
        ax.set_yticks(range(len(ys)), [_format(v) for v in ys])
        ax.set_xlabel(axis_label(x_axis))
        ax.set_ylabel(axis_label(y_axis))
        ax.grid(False)
        ax.set_title(title or ("trainability map" if metric == "diverged"
                               else f"final {metric.replace('_', ' ')} (× = all seeds diverged)"), fontsize=10)
        fig.tight_layout()
        return fig


PROBE_PREFIXES = ("sharpness", "preconditioned_sharpness", "ntk_alignment", "overlap_")
PROBE_FIRST = ("sharpness", "preconditioned_sharpness", "ntk_alignment", "overlap_cosine", "overlap_m", "overlap_q",
               "overlap_specialization", "overlap_mean")


def is_probe_metric(metric: str) -> bool:
    """Whether ``metric`` comes from a sharpness / NTK / overlap probe (drawn in probe panels)."""
    return metric.startswith(("sharpness", "preconditioned_sharpness", "ntk_", "overlap_"))


def probe_metrics(metrics: Sequence[str], limit: int = 6) -> list[str]:
    """Probe metrics worth a panel: sharpness, ntk_alignment, overlap_* — the headline ones first."""
    found = [m for m in metrics if m == "sharpness" or m.startswith(PROBE_PREFIXES[1:])]
    found = [m for m in found if not (m.startswith("sharpness_") or m.startswith("preconditioned_sharpness_"))]
    ranked = sorted(found, key=lambda m: (PROBE_FIRST.index(m) if m in PROBE_FIRST else len(PROBE_FIRST), m))
    return ranked[:limit]


def stability_threshold(row: pd.Series, metric: str = "sharpness") -> tuple[float, str] | None:
    """The edge-of-stability line for one run's optimizer: ``(value, label)`` or None (no learning rate).

    Plain GD: 2/η; heavy-ball momentum β: 2(1+β)/η; Nesterov: (2+2β)/((1+2β)η) — the largest stable
    λ_max of the Hessian on a quadratic (Cohen et al. 2021, 2103.00065). For ``preconditioned_sharpness``
    with Adam's β₁: (2+2β₁)/((1−β₁)η) (Cohen et al. 2022, 2207.14484).
    """
    eta = row.get("optimizer_learning_rate")
    if eta is None or pd.isna(eta) or float(eta) <= 0:
        return None
    eta = float(eta)
    if metric == "preconditioned_sharpness":
        b1 = row.get("optimizer_b1", 0.9)
        b1 = 0.9 if b1 is None or pd.isna(b1) else float(b1)
        return (2 + 2 * b1) / ((1 - b1) * eta), "(2+2β₁)/((1−β₁)η)"
    beta = row.get("optimizer_momentum")
    beta = 0.0 if beta is None or pd.isna(beta) else float(beta)
    nesterov = bool(row.get("optimizer_nesterov", False)) or row.get("optimizer_name") == "nesterov"
    if beta == 0.0:
        return 2.0 / eta, "2/η"
    if nesterov:
        return (2 + 2 * beta) / ((1 + 2 * beta) * eta), "(2+2β)/((1+2β)η)"
    return 2 * (1 + beta) / eta, "2(1+β)/η"


def probe_panels(runs: pd.DataFrame, curves: pd.DataFrame, metrics: Sequence[str] | None = None, title: str = "",
                 logx: bool = True):
    """One row of panels per probe metric (seed mean and band per swept value, coloured as the learning curves).

    Columns facet by the categorical / smallest swept axis as in :func:`learning_curves`.
    ``sharpness`` panels carry a dashed horizontal stability line (see :func:`stability_threshold`)
    per learning rate, in that group's colour, when the optimizer has a learning rate; the y range
    always shows the data and the lowest line.
    """
    with plt.rc_context(STYLE):
        if metrics is None:
            metrics = probe_metrics(sorted(curves["metric"].unique()) if len(curves) else [])
        metrics = list(metrics)
        if not metrics:
            raise ValueError("probe_panels: no probe metric (sharpness, ntk_alignment, overlap_*) stored")
        facet, facet_values, color_col, keys = _layout(runs, max_facets=4)
        colors, mappable = _color_scale(runs, color_col)
        if facet is None:  # no facets: the metrics wrap over up to three columns
            ncols = min(len(metrics), 3)
            cells = [(m, None, divmod(i, ncols)) for i, m in enumerate(metrics)]
        else:
            ncols = len(facet_values)
            cells = [(m, f, (i, j)) for i, m in enumerate(metrics) for j, f in enumerate(facet_values)]
        nrows = max(r for _, _, (r, _) in cells) + 1
        fig, axs = plt.subplots(nrows, ncols, figsize=(4.4 * ncols + 0.6, 3.3 * nrows), squeeze=False)
        for index, (metric, fval, (r, c)) in enumerate(cells):
            ax = axs[r][c]
            sub = runs if facet is None else runs[runs[facet] == fval]
            _draw_groups(ax, sub, curves, metric, keys, color_col, colors, logx,
                         labelled=(index == 0 and mappable is None))
            values = curves.loc[(curves["metric"] == metric) & curves["run"].isin(sub["run"]), "value"]
            values = values[np.isfinite(values)]
            if metric in ("sharpness", "preconditioned_sharpness"):
                lines = {}
                for _, row in sub[sub["status"] == "ok"].drop_duplicates(keys or ["status"]).iterrows():
                    line = stability_threshold(row, metric)
                    if line is not None:
                        color = colors.get(row[color_col], "C0") if color_col else "C0"
                        lines[(line[0], color)] = line[1]
                for value, color in lines:
                    ax.axhline(value, **{**THEORY_STYLE, "color": color, "linewidth": 1.2})
                if lines:
                    ax.plot([], [], **THEORY_STYLE, label=next(iter(lines.values())))
                    if len(values):
                        top = max(float(values.max()), min(v for v, _ in lines))
                        ax.set_ylim(top=1.15 * top)
            if logx:
                ax.set_xscale("log")
            if len(values) and (values > 0).all() and values.max() > 20 * values.min():
                ax.set_yscale("log")
            ax.set_xlabel("step")
            name = metric.replace("_", " ")
            ax.set_title(name if facet is None else f"{name} · {_facet_title(runs, facet, fval)}", fontsize=10)
            if ax.get_legend_handles_labels()[1]:
                _finish_legend(fig, ax, None, color_col)
        for r in range(nrows):
            for c in range(ncols):
                if not axs[r][c].has_data():
                    axs[r][c].set_visible(False)
        if mappable is not None:
            fig.colorbar(mappable, ax=[a for row in axs for a in row], label=axis_label(color_col), pad=0.01)
        if title:
            fig.suptitle(title)
        if mappable is None:
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
