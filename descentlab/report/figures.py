"""Figures in one house style: learning curves with seed bands, theory overlays, final-metric sweeps.

Curves are grouped by the experiment's swept axes (every ``runs`` column that varies, except the
seed): each group is drawn as the mean over its seeds with a band from the 10th to the 90th
percentile. With two or more swept axes the first one with few values facets the figure into
panels. Continuous axes are coloured by a colormap, so a legend never lists more than ~10 entries.
Diverged runs are left out of the mean and counted in the legend.

Scale: every band comes from one grouped aggregation (:func:`seed_bands` → :class:`Bands`, one
pandas groupby on integer codes), and only what is drawn is aggregated — at most ``MAX_LINES``
groups per panel (an evenly spaced subset, in legend order), heatmap axes binned to ``MAX_CELLS``.

Interactive versions: each figure kind drawn here also carries a plotly figure dict built by
:mod:`descentlab.report.interactive` from the same aggregated data (:class:`Bands`, :class:`FinalLines`,
:class:`HeatmapGrid`, :class:`Profile`) — see :func:`attach_interactive`; :func:`save` writes it next to
the images as ``<stem>.plotly.json`` and the HTML report embeds it.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from collections.abc import Callable, Sequence

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from descentlab.store.schema import DIVERGED, OK, SECONDS_PER_STEP, swept_axes

BAND = (0.1, 0.9)
BAND_COLUMNS = ["group", "metric", "step", "mean", "lo", "hi", "n", "min", "max"]
MAX_LEGEND = 10
MAX_LINES = 24
"""Most groups drawn in one panel; a panel with more draws an evenly spaced subset of them, in legend order."""
MAX_CELLS = 40
"""Most cells along a heatmap axis; an axis with more values is binned into runs of consecutive values."""
LINE_FACETS, PROBE_FACETS = 6, 4
"""Most panels a learning-curve figure, and a row of probe panels, is faceted into."""
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
    "text.parse_math": False,  # names and values a user wrote are text, never mathtext ("$\\frac{$" would crash)
}
THEORY_STYLE = {"linestyle": "--", "linewidth": 1.6, "color": "black"}
X_AXES = ("step", "wall_clock")
"""What a learning-curve figure puts on its x axis: the step, or the wall-clock seconds ``step × seconds_per_step``."""
WALL_CLOCK_LABEL = "wall-clock s (step × its vmapped chunk's s per step)"
"""The x label of a wall-clock figure: the runs of a chunk share its time per step (:data:`SECONDS_PER_STEP`)."""

INTERACTIVE = "descentlab_interactive"
"""The attribute of a figure drawn here holding its interactive version (a plotly figure dict); :func:`save` writes
it next to the images as ``<stem>.plotly.json`` and the HTML report embeds it."""
INTERACTIVE_SUFFIX = ".plotly.json"


def attach_interactive(fig, kind: str, *args, **kwargs):
    """Attach to ``fig`` the interactive version built by :mod:`descentlab.report.interactive`'s ``kind`` function
    from the same aggregated data the static figure drew.

    Args:
        fig: the matplotlib figure.
        kind: the name of the builder in :mod:`descentlab.report.interactive`.
        *args: its arguments.
        **kwargs: its keyword arguments.

    Returns:
        ``fig``, with the figure dict under :data:`INTERACTIVE`.
    """
    from descentlab.report import interactive

    setattr(fig, INTERACTIVE, getattr(interactive, kind)(*args, **kwargs))
    return fig


def axis_label(column: str) -> str:
    _section, _, field = column.partition("_")
    return {"learning_rate": "learning rate η"}.get(field, field.replace("_", " ")) if field else column


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def group_codes(runs: pd.DataFrame, keys: Sequence[str]) -> np.ndarray:
    """Each run's group: the position of its combination of ``keys`` among the sorted combinations."""
    if not keys:
        return np.zeros(len(runs), np.int64)
    return runs.groupby(list(keys), dropna=False, sort=True).ngroup().to_numpy()


def _run_index(frame: pd.DataFrame, by_experiment: bool) -> pd.Index:
    """The identity of each row's run: (experiment, run) where runs of several experiments may mix, else run."""
    if by_experiment:
        return pd.MultiIndex.from_arrays([frame["experiment"].astype(str).to_numpy(), frame["run"].to_numpy()])
    return pd.Index(frame["run"].to_numpy())


def aggregate_bands(
    runs: pd.DataFrame, groups: np.ndarray, curves: pd.DataFrame, metrics: Sequence[str] | None = None
) -> pd.DataFrame:
    """Seed statistics of ``curves`` per (group, metric, step), in one groupby on integer codes.

    ``groups[i]`` is the group of ``runs``' i-th row (negative: left out). Columns: ``BAND_COLUMNS`` —
    ``mean``, ``lo`` / ``hi`` (the ``BAND`` quantiles), ``n`` (finite values), ``min``, ``max``; NaN is
    skipped. Runs are matched by (experiment, run) when both frames name the experiment, else by run.
    """
    if metrics is not None:
        curves = curves[curves["metric"].isin(list(metrics))]
    member = groups >= 0
    if curves.empty or not member.any():
        return pd.DataFrame(columns=BAND_COLUMNS)
    by_experiment = "experiment" in runs and "experiment" in curves
    index = _run_index(runs[member], by_experiment)
    unique = ~index.duplicated()
    position = index[unique].get_indexer(_run_index(curves, by_experiment))
    keep = position >= 0
    value = curves["value"].to_numpy(float)[keep]
    metric, names = pd.factorize(curves["metric"].to_numpy()[keep])
    frame = pd.DataFrame(
        {
            "group": groups[member][unique][position[keep]],
            "metric": metric,
            "step": curves["step"].to_numpy()[keep],
            "value": value,
            "finite": np.isfinite(value),
        }
    )
    grouped = frame.groupby(["group", "metric", "step"], sort=True)
    values = grouped["value"]
    table = pd.DataFrame(
        {
            "mean": values.mean(),
            "lo": values.quantile(BAND[0]),
            "hi": values.quantile(BAND[1]),
            "n": grouped["finite"].sum(),
            "min": values.min(),
            "max": values.max(),
        }
    ).reset_index()
    table["metric"] = np.asarray(names, dtype=object)[table["metric"].to_numpy()]
    return table[BAND_COLUMNS]


def _group_table(runs: pd.DataFrame, codes: np.ndarray) -> pd.DataFrame:
    """One row per group code (the group's first run), with its ``_runs``, ``_ok`` and ``_diverged`` counts."""
    unique, first = np.unique(codes, return_index=True)
    table = runs.iloc[first].set_index(pd.Index(unique, name="_group"))
    status = runs["status"].to_numpy()
    for column, weights in (("_runs", None), ("_ok", status == OK), ("_diverged", status == DIVERGED)):
        table[column] = np.bincount(codes, weights, minlength=len(unique)).astype(np.int64)
    return table


def _equals(column: pd.Series, value) -> pd.Series:
    """Where ``column`` holds ``value`` — NaN included (runs of several experiments concatenated leave NaN in the
    columns only some of them sweep, and such runs form a panel of their own)."""
    if not isinstance(value, str) and pd.isna(value):
        return column.isna()
    return column == value


def _evenly_spaced(n: int, most: int) -> np.ndarray:
    """Positions of at most ``most`` of ``n`` items, evenly spaced and including the first and last."""
    return np.arange(n) if n <= most else np.unique(np.linspace(0, n - 1, most).round().astype(np.int64))


@dataclasses.dataclass(frozen=True)
class Layout:
    """How a figure splits its groups: a facet axis (one panel per value), a colour axis, the legend keys."""

    facet: str | None
    facet_values: list
    color_col: str | None
    keys: list[str]

    def members(self, groups: pd.DataFrame, value) -> pd.DataFrame:
        """Every group of the panel of facet value ``value``, in legend order (sorted by ``keys``)."""
        panel = groups if self.facet is None else groups[_equals(groups[self.facet], value)]
        return panel.sort_values(self.keys, kind="stable") if self.keys else panel

    def panel(self, groups: pd.DataFrame, value) -> pd.DataFrame:
        """The groups drawn in that panel: at most ``MAX_LINES``, evenly spaced in legend order."""
        members = self.members(groups, value)
        return members.iloc[_evenly_spaced(len(members), MAX_LINES)]


def _layout(groups: pd.DataFrame, axes: list[str], max_facets: int) -> Layout:
    """The :class:`Layout` of a figure over ``groups`` (one row per combination of the swept ``axes``).

    With two or more swept axes, the categorical (else the smallest) one facets the figure into
    panels — if it has at most ``max_facets`` values — and the first numeric one colours the lines.
    """
    facet = None
    if len(axes) >= 2:
        candidate = min(axes, key=lambda c: (_is_numeric(groups[c]), groups[c].nunique()))
        if groups[candidate].nunique() <= max_facets:
            facet = candidate
    color_axes = [c for c in axes if c != facet]
    color_col = next((c for c in color_axes if _is_numeric(groups[c])), color_axes[0] if color_axes else None)
    keys = [color_col, *[c for c in color_axes if c != color_col]] if color_col else []
    facet_values = sorted(groups[facet].unique(), key=lambda v: (str(type(v)), v)) if facet else [None]
    return Layout(facet, facet_values, color_col, keys)


@dataclasses.dataclass(frozen=True, eq=False)
class Bands:
    """Runs grouped by their swept ``axes``, and the seed bands of the groups that figures draw.

    ``groups``: one row per combination of the axes (index: its group code), holding the group's first
    run and its ``_runs`` / ``_ok`` / ``_diverged`` counts. ``table``: :func:`aggregate_bands` over the
    non-diverged runs of every group some panel draws (see :meth:`Layout.panel`).
    """

    axes: list[str]
    groups: pd.DataFrame
    table: pd.DataFrame

    @functools.cached_property
    def _by_group(self) -> dict[tuple, pd.DataFrame]:
        return dict(iter(self.table.groupby(["group", "metric"], sort=False)))

    @property
    def metrics(self) -> list[str]:
        """The metrics with a band, sorted."""
        return sorted(self.table["metric"].unique())

    def layout(self, max_facets: int) -> Layout:
        """The :class:`Layout` of a figure faceted into at most ``max_facets`` panels."""
        return _layout(self.groups, self.axes, max_facets)

    def band(self, group: int, metric: str) -> pd.DataFrame:
        """``step``, ``mean``, ``lo``, ``hi``, ``n`` … of one group and metric (empty when none was recorded)."""
        return self._by_group.get((group, metric), self.table.iloc[:0])

    def value_range(self, metric: str, groups: Sequence[int] | None = None) -> tuple[float, float]:
        """Smallest and largest finite value of ``metric`` over ``groups`` (default: all drawn); NaN if none."""
        rows = self.table[self.table["metric"] == metric]
        if groups is not None:
            rows = rows[rows["group"].isin(list(groups))]
        lows, highs = rows["min"].to_numpy(float), rows["max"].to_numpy(float)
        lows, highs = lows[np.isfinite(lows)], highs[np.isfinite(highs)]
        return (float(lows.min()) if lows.size else math.nan, float(highs.max()) if highs.size else math.nan)


CurveSource = pd.DataFrame | Callable[[np.ndarray], pd.DataFrame]
"""Long-format curves (``run``, ``step``, ``metric``, ``value``), or a function from run ids to theirs."""


def seed_bands(runs: pd.DataFrame, curves: CurveSource, metrics: Sequence[str] | None = None) -> Bands:
    """Group ``runs`` by their swept axes and aggregate the curves of the groups drawn, in one groupby.

    Only the non-diverged runs of groups that some panel draws (learning curves or probe panels) are
    aggregated; a callable ``curves`` is asked for those runs' curves only, so a report on 10⁶ runs
    reads and aggregates a few ``MAX_LINES`` groups' worth of rows.
    """
    if runs.empty:
        return Bands([], pd.DataFrame(), pd.DataFrame(columns=BAND_COLUMNS))
    axes = swept_axes(runs)
    codes = group_codes(runs, axes)
    groups = _group_table(runs, codes)
    layouts = [_layout(groups, axes, facets) for facets in (LINE_FACETS, PROBE_FACETS)]
    drawn = np.concatenate(
        [layout.panel(groups, value).index.to_numpy() for layout in layouts for value in layout.facet_values]
    )
    wanted = np.isin(codes, drawn) & (runs["status"] == "ok").to_numpy()
    member = np.where(wanted, codes, -1)
    if callable(curves):
        curves = curves(runs["run"].to_numpy()[wanted])
    return Bands(axes, groups, aggregate_bands(runs, member, curves, metrics))


NAN_COLOR = "#8c8c8c"
"""The colour of the NaN value of a colour axis (runs of another experiment that do not sweep that column)."""


def _is_nan(value) -> bool:
    return isinstance(value, float | np.floating) and math.isnan(value)


class Palette(dict):
    """{value: colour} of a colour axis, where every NaN is one value (NaN ≠ NaN would make each a miss)."""

    _NAN = ("nan",)

    def get(self, key, default=None):
        return super().get(self._NAN if _is_nan(key) else key, default)

    def __getitem__(self, key):
        return super().__getitem__(self._NAN if _is_nan(key) else key)


def _colors(values: list, numeric: bool) -> Palette:
    palette = Palette()
    if any(_is_nan(v) for v in values):
        palette[Palette._NAN] = NAN_COLOR
        values = [v for v in values if not _is_nan(v)]
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

        palette.update({v: cmap(0.02 + 0.8 * position(float(v))) for v in values})
        return palette
    cmap = plt.get_cmap("tab10")
    palette.update({v: cmap(i % 10) for i, v in enumerate(values)})
    return palette


def _format(value) -> str:
    if isinstance(value, float | np.floating):
        return f"{value:.3g}"
    return str(value)


def _group_label(keys: Sequence[str], key: tuple) -> str:
    return ", ".join(f"{axis_label(c)}={_format(v)}" for c, v in zip(keys, key, strict=True)) or "mean"


def _color_scale(groups: pd.DataFrame, color_col: str | None):
    """({value: colour}, colorbar mappable or None): a colorbar replaces the legend for >8 numeric values."""
    if color_col is None:
        return Palette({None: "C0"}), None
    values = sorted(groups[color_col].unique(), key=lambda v: (str(type(v)), v))
    numeric = _is_numeric(groups[color_col])
    colors = _colors(values, numeric)
    if not (numeric and len(values) > MAX_LEGEND - 2):
        return colors, None
    values = [v for v in values if not _is_nan(v)]
    finite = [float(v) for v in values]
    norm = (matplotlib.colors.LogNorm if min(finite) > 0 else matplotlib.colors.Normalize)(min(finite), max(finite))
    cmap = (
        matplotlib.colors.LinearSegmentedColormap.from_list("house", [colors[v] for v in values])
        if len(values) > 1
        else plt.get_cmap("viridis")
    )
    return colors, matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap)


def _theory_line(theory: pd.DataFrame, values: dict) -> pd.DataFrame:
    """The rows of ``theory`` that match ``values`` on every swept axis that ``theory`` has."""
    match = theory
    for column, value in values.items():
        if column in match:
            match = match[_equals(match[column], value)]
    return match


def _draw_groups(
    ax,
    bands: Bands,
    panel: pd.DataFrame,
    metric: str,
    layout: Layout,
    colors: dict,
    logx: bool,
    labelled: bool,
    theory: pd.DataFrame | None = None,
    facet_value=None,
    seconds_per_step: pd.Series | None = None,
) -> None:
    """Seed mean + band of ``metric`` for every group of ``panel`` (rows of ``bands.groups``), and its theory;
    against ``step × seconds_per_step[group]`` when ``seconds_per_step`` (by group code) is given."""
    keys = layout.keys
    facet = {layout.facet: facet_value} if layout.facet is not None else {}
    rows = zip(panel.index, panel[keys].itertuples(index=False, name=None), panel["_runs"], panel["_ok"], strict=True)
    for code, key, n_runs, n_ok in rows:
        label = _group_label(keys, key)
        if n_runs > n_ok:
            label += f" ({n_runs - n_ok}/{n_runs} diverged)"
        color = colors.get(key[0], "C0") if layout.color_col else "C0"
        scale = 1.0 if seconds_per_step is None else float(seconds_per_step.get(code, math.nan))
        band = bands.band(code, metric)
        if logx and not band.empty:
            band = band[band["step"] > 0]
        if band.empty:
            ax.plot([], [], color=color, label=label if labelled else None, linestyle=":")
            continue
        x = band["step"] * scale
        ax.plot(x, band["mean"], color=color, linewidth=1.5, label=label if labelled else None)
        if band["n"].max() > 1:
            ax.fill_between(x, band["lo"], band["hi"], color=color, alpha=0.2, linewidth=0)
        if theory is not None:
            match = _theory_line(theory, {**dict(zip(keys, key, strict=True)), **facet})
            if len(match):
                match = match[match["step"] > 0] if logx else match
                ax.plot(match["step"] * scale, match["value"], **{**THEORY_STYLE, "color": color}, label=None, zorder=5)


def _finish_legend(fig, ax, mappable, color_col: str | None) -> None:
    handles, labels = ax.get_legend_handles_labels()
    if len(labels) > MAX_LEGEND:  # never more than ~10 entries: keep an evenly spaced subset
        keep = sorted(set(np.linspace(0, len(labels) - 2, MAX_LEGEND - 1).round().astype(int)) | {len(labels) - 1})
        handles, labels = [handles[i] for i in keep], [labels[i] for i in keep]
    if labels:
        ax.legend(handles, labels, loc="best")
    if mappable is not None:
        fig.colorbar(mappable, ax=ax, label=axis_label(color_col), pad=0.01)


def _facet_title(groups: pd.DataFrame, layout: Layout, value, default: str = "") -> str:
    """A panel's title: its facet value with the diverged count (``default`` without facets)."""
    if layout.facet is None:
        return default
    members = layout.members(groups, value)
    n_div, n_runs = int(members["_diverged"].sum()), int(members["_runs"].sum())
    return f"{axis_label(layout.facet)} = {_format(value)}" + (f" · {n_div}/{n_runs} diverged" if n_div else "")


def _drawn_note(groups: pd.DataFrame, layout: Layout, value) -> str:
    """A second title line when a panel draws only some of its groups: how many of how many."""
    n = len(layout.members(groups, value))
    return f"\n{len(_evenly_spaced(n, MAX_LINES))} of {n} groups drawn" if n > MAX_LINES else ""


def group_seconds_per_step(runs: pd.DataFrame, axes: Sequence[str]) -> pd.Series:
    """The mean :data:`SECONDS_PER_STEP` of each group's non-diverged runs, by group code (:func:`group_codes`).

    A group's runs may come from several chunks, each with its own time; the mean is their typical chunk's time
    per step.

    Args:
        runs: the ``runs`` table, with a ``seconds_per_step`` column.
        axes: the swept axes the groups are formed by (``Bands.axes``).

    Returns:
        Seconds per step indexed by group code (groups whose runs all diverged are absent).

    Raises:
        ValueError: ``runs`` has no ``seconds_per_step`` column (stored before the engine recorded it, or a
            study's own computation).
    """
    if SECONDS_PER_STEP not in runs:
        raise ValueError(f"runs have no {SECONDS_PER_STEP} column (stored before it was recorded): no wall-clock axis")
    ok = (runs["status"] == OK).to_numpy()
    seconds = pd.Series(runs[SECONDS_PER_STEP].to_numpy(float)[ok], index=group_codes(runs, axes)[ok])
    return seconds.groupby(level=0).mean()


def learning_curves(
    runs: pd.DataFrame,
    curves: CurveSource | Bands,
    metric: str | None = None,
    theory: pd.DataFrame | None = None,
    theory_label: str = "theory",
    title: str = "",
    logy: bool = True,
    logx: bool = True,
    x: str = "step",
):
    """Mean-and-band learning curves per swept value; ``theory`` adds dashed overlays.

    ``theory`` has columns ``step``, ``value`` and the swept-axis columns it belongs to (matched
    against ``runs``); one dashed line per group that has a prediction, and one legend entry
    ``theory_label`` (put the verdict in it). With two or more swept axes the figure is faceted
    by the categorical (or smallest) axis; a numeric colour axis with more than 8 values gets a
    colorbar instead of legend entries. The legend is drawn on the first panel only.

    ``curves``: the long-format curves of ``runs`` (or a function of run ids returning them), or
    their :class:`Bands` from :func:`seed_bands` (a report aggregates once for all its figures).
    A panel draws at most ``MAX_LINES`` groups, evenly spaced; its title then says how many.

    ``x="wall_clock"`` draws each group against wall-clock seconds, ``step ×`` the group's mean
    ``seconds_per_step`` (:func:`group_seconds_per_step`) — the time per step of the vmapped chunk its runs
    shared, as the axis label says — for comparing optimizers by time; ``x="step"`` (default) against steps.
    """
    if x not in X_AXES:
        raise ValueError(f"x={x!r}: allowed {', '.join(map(repr, X_AXES))}")
    with plt.rc_context(STYLE):
        bands = curves if isinstance(curves, Bands) else seed_bands(runs, curves, None if metric is None else [metric])
        seconds = group_seconds_per_step(runs, bands.axes) if x == "wall_clock" else None
        if metric is None:
            metric = (bands.metrics or ["loss"])[0]
        layout = bands.layout(LINE_FACETS)
        facet, color_col = layout.facet, layout.color_col
        n = len(layout.facet_values)
        fig, axs = plt.subplots(1, n, figsize=(4.6 * n + 0.6, 3.8), squeeze=False, sharey=True)
        colors, mappable = _color_scale(bands.groups, color_col)
        for i, (ax, fval) in enumerate(zip(axs[0], layout.facet_values, strict=True)):
            _draw_groups(
                ax,
                bands,
                layout.panel(bands.groups, fval),
                metric,
                layout,
                colors,
                logx,
                labelled=(i == 0 and mappable is None),
                theory=theory,
                facet_value=fval,
                seconds_per_step=seconds,
            )
            if theory is not None and i == 0:
                ax.plot([], [], **THEORY_STYLE, label=theory_label)
            if logx:
                ax.set_xscale("log")
            if logy:
                ax.set_yscale("log")
            ax.set_xlabel("step" if seconds is None else WALL_CLOCK_LABEL)
            ax.set_title(
                _facet_title(bands.groups, layout, fval, title) + _drawn_note(bands.groups, layout, fval), fontsize=10
            )
            if i == 0:
                _finish_legend(fig, ax, None, color_col)
        if mappable is not None:
            fig.colorbar(mappable, ax=list(axs[0]), label=axis_label(color_col), pad=0.01)
        axs[0][0].set_ylabel(metric.replace("_", " "))
        if facet is not None and title:
            fig.suptitle(title)
        if mappable is None:
            fig.tight_layout()
        return attach_interactive(
            fig,
            "learning_curves",
            bands,
            metric,
            theory=theory,
            theory_label=theory_label,
            title=title,
            logy=logy,
            logx=logx,
            seconds_per_step=seconds,
        )


def _final_stats(runs: pd.DataFrame, keys: list[str], column: str) -> pd.DataFrame:
    """Mean, ``BAND`` quantiles and count of ``column`` per combination of ``keys`` (NaN skipped), and the name of
    the combination's first run (when ``runs`` has names), in one groupby."""
    grouped = runs.groupby(keys, dropna=False, sort=True)
    values = grouped[column]
    stats = {"mean": values.mean(), "lo": values.quantile(BAND[0]), "hi": values.quantile(BAND[1]), "n": values.count()}
    if "name" in runs:  # the readable name of each point's first run (hover text of the interactive figure)
        stats["name"] = grouped["name"].first()
    return pd.DataFrame(stats).reset_index()


@dataclasses.dataclass(frozen=True)
class FinalLines:
    """What :func:`final_vs_axis` draws (static and interactive alike): one line per combination of the
    ``others`` swept axes, each a frame with the ``axis`` values and ``mean``/``lo``/``hi``/``n`` of
    ``final_<metric>`` (NaN mean: every seed diverged), at most ``MAX_LINES`` of them, and their colours."""

    metric: str
    axis: str
    others: list[str]
    lines: list[tuple[tuple, pd.DataFrame]]
    colors: dict
    logx: bool
    logy: bool

    def color(self, key: tuple):
        """The colour of the line of ``key``."""
        return self.colors.get(key[0] if self.others else None, "C0")


def final_lines(runs: pd.DataFrame, metric: str, axis: str | None = None) -> FinalLines | None:
    """The seed statistics of ``final_<metric>`` along ``axis`` (default: the last numeric swept axis), one line
    per combination of the other swept axes (at most ``MAX_LINES``, evenly spaced); None without such an axis."""
    column = f"final_{metric}"
    axes_cols = swept_axes(runs)
    numeric = [c for c in axes_cols if _is_numeric(runs[c])]
    axis = axis or (numeric[-1] if numeric else None)
    if axis is None or column not in runs:
        return None
    others = [c for c in axes_cols if c != axis]
    stats = _final_stats(runs, [*others, axis], column)
    lines = list(stats.groupby(others, dropna=False, sort=True)) if others else [((), stats)]
    lines = [(k if isinstance(k, tuple) else (k,), line) for k, line in lines]
    lines = [lines[i] for i in _evenly_spaced(len(lines), MAX_LINES)]
    other_values = sorted({key[0] for key, _ in lines}, key=str) if others else [None]
    colors = _colors(other_values, bool(others) and _is_numeric(runs[others[0]]))
    logx = bool(runs[axis].min() > 0)
    logy = bool(runs[column].dropna().gt(0).all())
    return FinalLines(metric, axis, others, lines, colors, logx, logy)


def final_vs_axis(runs: pd.DataFrame, metric: str, axis: str | None = None, title: str = ""):
    """Final value of ``metric`` (mean and band over seeds) against a swept numeric axis.

    One line per combination of the other swept axes — at most ``MAX_LINES``, evenly spaced (see
    :func:`final_lines`). The figure carries its interactive version (:func:`attach_interactive`).
    """
    with plt.rc_context(STYLE):
        data = final_lines(runs, metric, axis)
        fig, ax = plt.subplots(figsize=(5.2, 3.8))
        if data is None:
            ax.text(0.5, 0.5, "no swept numeric axis", ha="center", va="center", transform=ax.transAxes)
            return fig
        axis = data.axis
        for key, line in data.lines:
            color = data.color(key)
            ax.plot(
                line[axis],
                line["mean"],
                marker="o" if len(line) <= 50 else None,
                color=color,
                label=_group_label(data.others, key),
            )
            ax.fill_between(line[axis], line["lo"], line["hi"], color=color, alpha=0.2, linewidth=0)
            gone = line[line["mean"].isna()]
            if len(gone):
                ax.plot(
                    gone[axis],
                    np.full(len(gone), np.nanmax(line["hi"]) if line["hi"].notna().any() else 1.0),
                    "x",
                    color=color,
                    markersize=8,
                )
        ax.set_xlabel(axis_label(axis))
        ax.set_ylabel(f"final {metric.replace('_', ' ')}")
        if data.logx:
            ax.set_xscale("log")
        if data.logy:
            ax.set_yscale("log")
        title = title or "final value (× = all seeds diverged)"
        ax.set_title(title, fontsize=10)
        _finish_legend(fig, ax, None, None)
        fig.tight_layout()
        return attach_interactive(fig, "final_vs_axis", data, title=title)


def numeric_axes(runs: pd.DataFrame) -> list[str]:
    """The swept axes whose values are numbers (candidates for a heatmap or an x axis)."""
    return [c for c in swept_axes(runs) if _is_numeric(runs[c])]


def _cells(values: pd.Series) -> tuple[np.ndarray, np.ndarray, bool]:
    """Each value's cell along a heatmap axis, each cell's first value (its label), and whether cells are bins.

    One cell per distinct value; with more than ``MAX_CELLS`` of them, ``MAX_CELLS`` cells of
    consecutive distinct values (near-equal numbers of them).
    """
    distinct = np.sort(values.unique())
    starts = distinct[np.linspace(0, len(distinct), min(len(distinct), MAX_CELLS), endpoint=False).astype(np.int64)]
    return np.searchsorted(starts, values.to_numpy(), side="right") - 1, starts, len(starts) < len(distinct)


def _heatmap_grid(runs: pd.DataFrame, cell: np.ndarray, size: int, metric: str) -> tuple[np.ndarray, ...]:
    """(value, runs, diverged) per cell, flat, aggregated with one ``bincount`` each.

    The value is the fraction of diverged runs (``metric="diverged"``), else the mean of
    ``final_<metric>`` over the non-diverged runs (NaN where there are none).
    """
    status = runs["status"].to_numpy()
    total = np.bincount(cell, minlength=size)
    diverged = np.bincount(cell, weights=status == "diverged", minlength=size).astype(np.int64)
    if metric == "diverged":
        numerator, denominator = diverged.astype(float), total
    else:
        column = f"final_{metric}"
        if column not in runs:
            raise KeyError(
                f"heatmap: no final metric {metric!r}; stored: "
                + ", ".join(c[6:] for c in runs.columns if c.startswith("final_"))
            )
        finals = runs[column].to_numpy(float)
        good = (status == OK) & ~np.isnan(finals)
        numerator = np.bincount(cell[good], weights=finals[good], minlength=size)
        denominator = np.bincount(cell[good], minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        values = np.where(denominator > 0, numerator / denominator, np.nan)
    return values, total, diverged


def _cell_ticks(starts: np.ndarray, binned: bool) -> tuple[np.ndarray, list[str]]:
    """Tick positions and labels along a heatmap axis: at most 20, each cell labelled by its first value."""
    positions = _evenly_spaced(len(starts), 20) if binned else np.arange(len(starts))
    return positions, [("≥" if binned else "") + _format(starts[i]) for i in positions]


@dataclasses.dataclass(frozen=True)
class HeatmapGrid:
    """What :func:`heatmap` draws (static and interactive alike): ``values``, ``total`` and ``diverged`` per cell
    (arrays of shape ``(len(ys), len(xs))``), each axis's cell labels (its first value) and whether its cells are
    bins, the colour-bar label and whether the colour scale is logarithmic."""

    x_axis: str
    y_axis: str
    metric: str
    xs: np.ndarray
    ys: np.ndarray
    x_binned: bool
    y_binned: bool
    values: np.ndarray
    total: np.ndarray
    diverged: np.ndarray
    label: str
    log_color: bool

    @property
    def title(self) -> str:
        """The default title: the trainability map, or the metric with the meaning of a ×."""
        if self.metric == "diverged":
            return "trainability map"
        return f"final {self.metric.replace('_', ' ')} (× = all seeds diverged)"

    def axis_title(self, which: str) -> str:
        """``"x"`` or ``"y"``: the axis's label, with its number of bins when binned."""
        column, cells, binned = (
            (self.x_axis, self.xs, self.x_binned) if which == "x" else (self.y_axis, self.ys, self.y_binned)
        )
        return axis_label(column) + (f" ({len(cells)} bins)" if binned else "")


def heatmap_grid(
    runs: pd.DataFrame, x_axis: str, y_axis: str, metric: str = "diverged", log_color: bool | None = None
) -> HeatmapGrid:
    """The cells of :func:`heatmap` over ``x_axis`` × ``y_axis``, each aggregated with one ``bincount``.

    Args:
        runs: the runs table (one row per run).
        x_axis: the swept column along x.
        y_axis: the swept column along y.
        metric: a final metric (seed mean of ``final_<metric>`` over non-diverged runs), or ``"diverged"``
            (fraction of diverged seeds).
        log_color: a logarithmic colour scale; default: every value positive and spanning more than a decade.

    Returns:
        The :class:`HeatmapGrid`.
    """
    ix, xs, x_binned = _cells(runs[x_axis])
    iy, ys, y_binned = _cells(runs[y_axis])
    nx, ny = len(xs), len(ys)
    values, total, diverged = (a.reshape(ny, nx) for a in _heatmap_grid(runs, iy * nx + ix, nx * ny, metric))
    label = "fraction of seeds diverged" if metric == "diverged" else f"final {metric.replace('_', ' ')} (seed mean)"
    finite = values[np.isfinite(values)]
    if log_color is None:
        log_color = metric != "diverged" and finite.size > 0 and finite.min() > 0 and finite.max() > 10 * finite.min()
    log_color = bool(log_color and finite.size and finite.min() > 0)
    return HeatmapGrid(x_axis, y_axis, metric, xs, ys, x_binned, y_binned, values, total, diverged, label, log_color)


def heatmap(
    runs: pd.DataFrame,
    x_axis: str,
    y_axis: str,
    metric: str = "diverged",
    title: str = "",
    log_color: bool | None = None,
):
    """A map over two swept axes: the seed mean of ``final_<metric>`` per cell (non-diverged seeds).

    ``metric="diverged"`` draws the fraction of diverged seeds instead (the *trainability map*).
    Cells where every seed diverged are grey with a ×; cells where some diverged carry ``k/n``.
    The colour scale is logarithmic when every value is positive and they span more than a decade
    (or as ``log_color`` says). Other swept axes are averaged over. An axis with more than
    ``MAX_CELLS`` values is binned into ``MAX_CELLS`` cells of consecutive values (see :func:`heatmap_grid`).
    The figure carries its interactive version (:func:`attach_interactive`).
    """
    with plt.rc_context(STYLE):
        grid = heatmap_grid(runs, x_axis, y_axis, metric, log_color)
        values, total, diverged = grid.values, grid.total, grid.diverged
        nx, ny = len(grid.xs), len(grid.ys)
        finite = values[np.isfinite(values)]
        norm = None
        if grid.log_color:
            norm = matplotlib.colors.LogNorm(finite.min(), finite.max())
        elif metric == "diverged":
            norm = matplotlib.colors.Normalize(0.0, 1.0)
        cmap = plt.get_cmap("magma_r" if metric == "diverged" else "viridis").with_extremes(bad="#d0d4da")
        fig, ax = plt.subplots(figsize=(max(4.6, 0.55 * min(nx, 24) + 2.6), max(3.4, 0.42 * min(ny, 24) + 1.8)))
        mesh = ax.pcolormesh(
            np.arange(nx + 1) - 0.5,
            np.arange(ny + 1) - 0.5,
            np.ma.masked_invalid(values),
            cmap=cmap,
            norm=norm,
            shading="flat",
        )
        fig.colorbar(mesh, ax=ax, label=grid.label, pad=0.02)
        for y, x in zip(*np.nonzero(diverged), strict=True):
            n, k = total[y, x], diverged[y, x]
            if k == n and metric != "diverged":
                ax.text(x, y, "×", ha="center", va="center", color="#7a1f1f", fontsize=11 if nx * ny <= 400 else 6)
            elif nx * ny <= 150:
                ax.text(x, y, f"{k}/{n}", ha="center", va="center", color="#7a1f1f", fontsize=7)
        ax.set_xticks(*_cell_ticks(grid.xs, grid.x_binned), rotation=45 if nx > 6 else 0)
        ax.set_yticks(*_cell_ticks(grid.ys, grid.y_binned))
        ax.set_xlabel(grid.axis_title("x"))
        ax.set_ylabel(grid.axis_title("y"))
        ax.grid(False)
        title = title or grid.title
        ax.set_title(title, fontsize=10)
        fig.tight_layout()
        return attach_interactive(fig, "heatmap", grid, title=title)


PROBE_PREFIXES = ("sharpness", "preconditioned_sharpness", "ntk_alignment", "overlap_")
PROBE_FIRST = (
    "sharpness",
    "preconditioned_sharpness",
    "ntk_alignment",
    "overlap_cosine",
    "overlap_m",
    "overlap_q",
    "overlap_specialization",
    "overlap_mean",
)


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
    from descentlab.theory.stability import (
        nesterov_sharpness_threshold,
        preconditioned_sharpness_threshold,
        sharpness_threshold,
    )

    if metric == "preconditioned_sharpness":
        b1 = row.get("optimizer_b1", 0.9)
        b1 = 0.9 if b1 is None or pd.isna(b1) else float(b1)
        return preconditioned_sharpness_threshold(eta, b1), "(2+2β₁)/((1−β₁)η)"
    beta = row.get("optimizer_momentum")
    beta = 0.0 if beta is None or pd.isna(beta) else float(beta)
    nesterov = bool(row.get("optimizer_nesterov", False)) or row.get("optimizer_name") == "nesterov"
    if beta == 0.0:
        return sharpness_threshold(eta), "2/η"
    if nesterov:
        return nesterov_sharpness_threshold(eta, beta), "(2+2β)/((1+2β)η)"
    return sharpness_threshold(eta, beta), "2(1+β)/η"


def _stability_lines(ax, panel: pd.DataFrame, metric: str, color_col: str | None, colors: dict, top: float) -> None:
    """Dashed edge-of-stability lines of the panel's groups that have a non-diverged run, one per value and colour;
    the y range is raised to show the lowest line above ``top`` (the largest value drawn)."""
    lines = {}
    for _, row in panel[panel["_ok"] > 0].iterrows():
        line = stability_threshold(row, metric)
        if line is not None:
            color = colors.get(row[color_col], "C0") if color_col else "C0"
            lines[(line[0], color)] = line[1]
    for value, color in lines:
        ax.axhline(value, **{**THEORY_STYLE, "color": color, "linewidth": 1.2})
    if lines:
        ax.plot([], [], **THEORY_STYLE, label=next(iter(lines.values())))
        if math.isfinite(top):
            ax.set_ylim(top=1.15 * max(top, min(v for v, _ in lines)))


def probe_panels(
    runs: pd.DataFrame,
    curves: CurveSource | Bands,
    metrics: Sequence[str] | None = None,
    title: str = "",
    logx: bool = True,
):
    """One row of panels per probe metric (seed mean and band per swept value, coloured as the learning curves).

    Columns facet by the categorical / smallest swept axis as in :func:`learning_curves`.
    ``sharpness`` panels carry a dashed horizontal stability line (see :func:`stability_threshold`)
    per learning rate, in that group's colour, when the optimizer has a learning rate; the y range
    always shows the data and the lowest line. ``curves`` as in :func:`learning_curves`.
    """
    with plt.rc_context(STYLE):
        bands = curves if isinstance(curves, Bands) else seed_bands(runs, curves, metrics)
        metrics = list(metrics) if metrics is not None else probe_metrics(bands.metrics)
        if not metrics:
            raise ValueError("probe_panels: no probe metric (sharpness, ntk_alignment, overlap_*) stored")
        layout = bands.layout(PROBE_FACETS)
        facet, facet_values, color_col = layout.facet, layout.facet_values, layout.color_col
        colors, mappable = _color_scale(bands.groups, color_col)
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
            panel = layout.panel(bands.groups, fval)
            _draw_groups(ax, bands, panel, metric, layout, colors, logx, labelled=(index == 0 and mappable is None))
            low, high = bands.value_range(metric, panel.index)
            if metric in ("sharpness", "preconditioned_sharpness"):
                _stability_lines(ax, panel, metric, color_col, colors, high)
            if logx:
                ax.set_xscale("log")
            if low > 0 and high > 20 * low:
                ax.set_yscale("log")
            ax.set_xlabel("step")
            name = metric.replace("_", " ")
            title_line = name if facet is None else f"{name} · {_facet_title(bands.groups, layout, fval)}"
            ax.set_title(title_line + _drawn_note(bands.groups, layout, fval), fontsize=10)
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
        return attach_interactive(fig, "probe_panels", bands, metrics, title=title, logx=logx)


def profile_curve(ratios: pd.Series, taus: np.ndarray) -> np.ndarray:
    """ρ(τ): the fraction of the problems whose performance ratio is ≤ τ, at each τ (a NaN or inf ratio — the
    target never reached — counts against the solver at every τ)."""
    values = ratios.to_numpy(float)
    finite = np.where(np.isfinite(values), values, np.inf)
    return (finite[None, :] <= np.asarray(taus, float)[:, None]).mean(axis=1)


@dataclasses.dataclass(frozen=True)
class Profile:
    """What :func:`performance_profile` draws (static and interactive alike): the τ grid, each solver's ρ(τ) on
    it, the solvers best first, the fraction of problems each solved at all, and the right edge ``top``."""

    taus: np.ndarray
    top: float
    order: list
    rho: dict
    solved: dict
    n_problems: int

    def label(self, solver) -> str:
        """A solver's legend entry: its name and the fraction of problems it solved."""
        return f"{solver} (solved {self.solved[solver]:.0%})"


def profile_data(ratios: pd.DataFrame, tau_max: float | None = None) -> Profile:
    """The performance profile of ``ratios`` (see :func:`performance_profile`).

    Args:
        ratios: one row per problem, one column per solver, values ≥ 1 (inf or NaN: the solver failed).
        tau_max: the right edge; default twice the largest finite ratio (at least 2).

    Returns:
        The :class:`Profile`: ρ on every distinct ratio in [1, ``top``] and at both edges, solvers ordered by
        the area under ρ on the log τ axis (best first).
    """
    values = ratios.to_numpy(float)
    finite = values[np.isfinite(values)]
    top = float(tau_max) if tau_max is not None else max(2.0, 2.0 * float(finite.max()) if finite.size else 2.0)
    taus = np.unique(np.concatenate([[1.0, top], finite[(finite >= 1.0) & (finite <= top)]]))
    grid = np.geomspace(1.0, top, 200)
    area = {col: float(np.trapezoid(profile_curve(ratios[col], grid), np.log2(grid))) for col in ratios.columns}
    order = sorted(ratios.columns, key=lambda col: (-area[col], str(col)))
    rho = {col: profile_curve(ratios[col], taus) for col in order}
    solved = {col: float(np.isfinite(ratios[col].to_numpy(float)).mean()) for col in order}
    return Profile(taus, top, order, rho, solved, len(ratios))


def performance_profile(ratios: pd.DataFrame, title: str = "", tau_max: float | None = None):
    """Dolan–Moré performance profile: one step curve per solver, ρ_s(τ) = the fraction of problems on which
    solver s's performance ratio r_{p,s} = t_{p,s} / min_s' t_{p,s'} is ≤ τ, on a log₂ τ axis.

    ``ratios``: one row per problem, one column per solver, values ≥ 1 (inf or NaN: the solver failed on that
    problem). The curves are drawn up to ``tau_max`` (default: twice the largest finite ratio); a solver's
    value at the right edge is the fraction of problems it solved at all. Solvers are listed in the legend
    best first (by the area under ρ on the log τ axis). The figure carries its interactive version
    (:func:`attach_interactive`).

    Reference: Dolan, Moré. *Benchmarking optimization software with performance profiles*, Math. Program. 91
    (2002).
    """
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        data = profile_data(ratios, tau_max)
        for i, col in enumerate(data.order):
            ax.step(
                data.taus,
                data.rho[col],
                where="post",
                color=f"C{i % 10}",
                linestyle=PROFILE_DASHES[(i // 10) % len(PROFILE_DASHES)],
                linewidth=1.6,
                label=data.label(col),
            )
        ax.set_xscale("log", base=2)
        ax.set_xlim(1.0, data.top)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel(PROFILE_XLABEL)
        ax.set_ylabel(profile_ylabel(data.n_problems))
        title = title or "performance profile"
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=7, loc="lower right", ncol=1 + len(data.order) // 8)
        fig.tight_layout()
        return attach_interactive(fig, "performance_profile", data, title=title)


PROFILE_DASHES = ("-", "--", ":", "-.")
"""Line styles of the profile's solvers: the tenth colour onwards changes the dash."""
PROFILE_XLABEL = "performance ratio τ (time to target / the best solver's)"


def profile_ylabel(n_problems: int) -> str:
    """The profile's y-axis label."""
    return f"ρ(τ): fraction of the {n_problems} problems with r ≤ τ"


_SUPERSCRIPT = str.maketrans("-−0123456789", "⁻⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
_POWER = re.compile(r"(\d+)\^\{([^}]*)\}")


def plain_tick_label(label: str) -> str:
    r"""A log axis's tick label as plain text: ``$\mathdefault{2\times10^{-3}}$`` → ``2×10⁻³``.

    Matplotlib's log formatters write mathtext, which :data:`STYLE` turns off (``text.parse_math``) so that
    names a user wrote are never read as math; their labels are translated to Unicode instead."""
    text = label.strip()
    if not (text.startswith("$") and text.endswith("$")):
        return label
    text = text[1:-1].replace("\\mathdefault", "").replace("\\times", "×").replace("\\cdot", "·")
    text = _POWER.sub(lambda m: m.group(1) + m.group(2).translate(_SUPERSCRIPT), text)
    return text.replace("{", "").replace("}", "").replace("\\", "")


class PlainLogFormatter(matplotlib.ticker.LogFormatterSciNotation):
    """Matplotlib's log-axis tick labels (the same ticks labelled) as plain Unicode text, not mathtext."""

    def __call__(self, x, pos=None) -> str:
        return plain_tick_label(super().__call__(x, pos))


def plain_log_ticks(fig) -> None:
    """Give every log-scaled axis of ``fig`` plain-text tick labels (see :class:`PlainLogFormatter`)."""
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            if axis.get_scale() != "log":
                continue
            base = getattr(axis.get_major_locator(), "_base", 10.0)
            for setter, formatter in (
                (axis.set_major_formatter, axis.get_major_formatter()),
                (axis.set_minor_formatter, axis.get_minor_formatter()),
            ):
                if isinstance(formatter, matplotlib.ticker.LogFormatterMathtext) and not isinstance(
                    formatter, PlainLogFormatter
                ):
                    setter(
                        PlainLogFormatter(
                            base=base,
                            labelOnlyBase=formatter.labelOnlyBase,
                            minor_thresholds=formatter.minor_thresholds,
                        )
                    )


def save(fig, folder, stem: str, formats: Sequence[str] = ("png", "svg", "pdf")) -> dict[str, str]:
    """Save ``fig`` as ``stem.<fmt>`` for each format, each atomically (a temporary file, then
    ``os.replace``); returns {format: path}. Log axes get plain-text tick labels (:func:`plain_log_ticks`).

    A figure drawn here also gets its interactive version written next to them as ``stem.plotly.json`` (found
    by the report from the PNG's path); such a file left from an earlier figure of that stem without one is
    removed, so the report never shows a stale interactive chart next to a new image."""
    import json
    import os
    import uuid
    from pathlib import Path

    plain_log_ticks(fig)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for fmt in formats:
        path = folder / f"{stem}.{fmt}"
        tmp = folder / f".{stem}.{fmt}.{uuid.uuid4().hex}.tmp"
        try:
            fig.savefig(tmp, format=fmt, bbox_inches="tight")
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        out[fmt] = str(path)
    spec = getattr(fig, INTERACTIVE, None)
    sidecar = folder / f"{stem}{INTERACTIVE_SUFFIX}"
    if spec is None:
        sidecar.unlink(missing_ok=True)
    else:
        tmp = folder / f".{sidecar.name}.{uuid.uuid4().hex}.tmp"
        try:
            tmp.write_text(json.dumps(spec, allow_nan=False, separators=(",", ":")), encoding="utf-8")
            os.replace(tmp, sidecar)
        finally:
            tmp.unlink(missing_ok=True)
    plt.close(fig)
    return out
