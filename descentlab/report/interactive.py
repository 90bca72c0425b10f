"""Interactive versions of the report's figures: plotly.js figure dicts, embedded in the page, fetched from nowhere.

Every figure kind :mod:`descentlab.report.figures` draws — learning curves with seed bands and theory overlays,
probe panels, the final value against a swept axis, heatmaps and trainability maps, performance profiles — also
gets a plotly figure dict (``data``, ``layout``, ``config``), built here from the same aggregated data the static
figure drew: the report's one :class:`~descentlab.report.figures.Bands` (the groups a panel draws, at most
``MAX_LINES``), :class:`~descentlab.report.figures.FinalLines`, :class:`~descentlab.report.figures.HeatmapGrid`,
:class:`~descentlab.report.figures.Profile`. Nothing is aggregated twice, and a seed band is one trace (a filled
polygon from its 10 % to its 90 % quantile) next to its mean's trace — never one trace per run.

What a reader can do: hover a curve for its group (the swept values), its hyperparameters by their spec names
(``optimizer.learning_rate = 0.1``), the readable name of its first run, how many seeds the band holds, and the
value with its band at that step; click a legend entry to hide or show the group's traces in every panel; switch
each axis between log and linear with the buttons above the plot (a heatmap's cells are categories, so its
buttons switch the colour scale instead); zoom and pan with plotly's own tools.

Strings: every string that comes from a spec or the store is entity-escaped for plotly's pseudo-HTML (``&``,
``<``, ``>``: plotly decodes the entities to text, so no tag is ever parsed from it) and only placed in ``name``,
``text`` and ``hovertext`` — never into a ``hovertemplate``, whose ``%{…}`` would be read. The JSON is embedded in
a ``<script type="application/json">`` block with ``<``, ``>`` and ``&`` written as ``\\u`` escapes, so nothing
in it can close the block (:func:`script_json`).

Offline: plotly.js comes from the installed ``plotly`` package (``plotly/package_data/plotly.min.js``), copied
once per store to ``<store>/assets/plotly.min.js`` — atomically, and only when missing or different — and each
report references it by a relative path (``../../assets/…`` from ``<exp>/report``, four levels up from a
control's ``<exp>/report/controls/<name>``), so a copied store folder still opens with nothing fetched. Without
the script (JavaScript off, a report folder copied without the store's ``assets``) the static PNG stays shown.

Size: a curve with more than ``MAX_POINTS`` recorded steps is thinned to at most ``MAX_POINTS`` of them (evenly
spaced in index and in log index, first and last kept); numbers are written with 6 significant digits.
"""

from __future__ import annotations

import filecmp
import importlib.util
import json
import math
import os
import shutil
import urllib.parse
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib.colors
import numpy as np
import pandas as pd

from descentlab.report import figures as F

MAX_POINTS = 400
"""Most points of one trace; a curve with more recorded steps is thinned (:func:`thin`)."""
ASSETS = "assets"
"""The folder under the store root holding the JavaScript the reports load."""
PLOTLY_JS = "plotly.min.js"
PANEL_HEIGHT = 330
"""Height in pixels of one row of panels."""
FONT = {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 11, "color": "#1d2330"}
CONFIG = {"displaylogo": False, "responsive": True}
DASHES = {"-": "solid", "--": "dash", ":": "dot", "-.": "dashdot"}
ROW_GAP = 84
"""Pixels between two rows of panels (the upper one's x-axis title, the lower one's panel title)."""
MARGIN = {"l": 64, "r": 24, "t": 100, "b": 56}
"""Plot margins in pixels; the top one holds the title, the scale buttons and the panel titles."""

Figure = dict[str, Any]
"""A plotly figure: ``{"data": [trace, …], "layout": {…}, "config": {…}}``, JSON-ready."""


# ---- values ---------------------------------------------------------------------------------


def text(value: Any) -> str:
    """``value`` as text for plotly's pseudo-HTML labels: ``&``, ``<`` and ``>`` as entities, which plotly turns
    back into those characters (so a name is shown as written, never read as a tag).

    Args:
        value: any value (a name from a spec or the store, a label).

    Returns:
        The escaped string.
    """
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def numbers(values: Any) -> list[float | None]:
    """Floats with 6 significant digits for JSON; NaN and ±inf become ``None`` (a gap in plotly).

    Args:
        values: an array-like of numbers.

    Returns:
        The list.
    """
    flat = np.asarray(values, dtype=float).ravel().tolist()
    return [float(f"{v:.6g}") if math.isfinite(v) else None for v in flat]


def _steps(values: Any) -> list:
    """Step numbers as JSON integers (floats where they are not whole)."""
    array = np.asarray(values)
    if np.issubdtype(array.dtype, np.integer):
        return array.tolist()
    return numbers(array)


def css(color: Any, alpha: float = 1.0) -> str:
    """A matplotlib colour (name, ``C0``, RGBA tuple) as a CSS ``rgba(…)`` with its alpha times ``alpha``.

    Args:
        color: the matplotlib colour.
        alpha: a factor on its opacity.

    Returns:
        The CSS colour.
    """
    r, g, b, a = matplotlib.colors.to_rgba(color)
    return f"rgba({round(255 * r)},{round(255 * g)},{round(255 * b)},{a * alpha:.3g})"


def thin(n: int, most: int = MAX_POINTS) -> np.ndarray:
    """Positions of at most ``most`` of ``n`` points, evenly spaced in index and in log index (both ends kept).

    Args:
        n: the number of points.
        most: the most to keep.

    Returns:
        The sorted positions.
    """
    if n <= most:
        return np.arange(n)
    half = most // 2
    picks = np.concatenate([np.linspace(0, n - 1, half), np.geomspace(1, n, most - half) - 1])
    return np.unique(picks.round().astype(np.int64))


def spec_name(column: str) -> str:
    """A runs-table column as its spec key: ``optimizer_learning_rate`` → ``optimizer.learning_rate``."""
    section, _, field = column.partition("_")
    return f"{section}.{field}" if field else column


def _value(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return f"{value:.6g}"
    return str(value)


def _present(value: Any) -> bool:
    return value is not None and not (not isinstance(value, str) and pd.isna(value))


# ---- layout -----------------------------------------------------------------------------------


def _suffix(index: int) -> str:
    """Plotly's axis suffix of the ``index``-th panel: "", "2", "3", …"""
    return "" if index == 0 else str(index + 1)


def grid_layout(
    nrows: int,
    ncols: int,
    titles: Sequence[str],
    xlabel: str,
    ylabels: Sequence[str],
    xlog: Sequence[bool],
    ylog: Sequence[bool],
    title: str = "",
    share_y: bool = False,
) -> Figure:
    """The layout of ``nrows`` × ``ncols`` panels (row-major), each with its own axes.

    Args:
        nrows: rows of panels.
        ncols: columns of panels.
        titles: each panel's title (already escaped for plotly, see :func:`text`).
        xlabel: every panel's x-axis title (escaped).
        ylabels: each panel's y-axis title (escaped; "" for none).
        xlog: each panel's initial x scale is logarithmic.
        ylog: each panel's initial y scale is logarithmic.
        title: the figure's title (escaped).
        share_y: every panel's y axis follows the first one's range.

    Returns:
        The layout dict (axes, panel titles as annotations, the log/linear buttons of :func:`scale_menus`).
    """
    n = nrows * ncols
    height = PANEL_HEIGHT * nrows + ROW_GAP * (nrows - 1) + MARGIN["t"] + MARGIN["b"]
    plot_height = height - MARGIN["t"] - MARGIN["b"]
    hgap, vgap = (0.07 if ncols > 1 else 0.0), (ROW_GAP / plot_height if nrows > 1 else 0.0)
    layout: Figure = {
        "height": height,
        "margin": MARGIN,
        "font": FONT,
        "hovermode": "closest",
        "plot_bgcolor": "#ffffff",
        "paper_bgcolor": "#ffffff",
        "legend": {"font": {"size": 10}, "tracegroupgap": 2},
        "annotations": [],
    }
    if title:
        layout["title"] = {"text": title, "x": 0.01, "xanchor": "left", "y": 0.985, "yanchor": "top"}
    for i in range(n):
        row, col = divmod(i, ncols)
        s = _suffix(i)
        layout[f"xaxis{s}"] = {
            "domain": [col / ncols + hgap / 2, (col + 1) / ncols - hgap / 2],
            "anchor": f"y{s}",
            "type": "log" if xlog[i] else "linear",
            "title": {"text": xlabel},
            "exponentformat": "power",
            "gridcolor": "#eceff3",
            "zeroline": False,
            "showline": True,
            "linecolor": "#9aa3ad",
        }
        layout[f"yaxis{s}"] = {
            "domain": [1 - (row + 1) / nrows + vgap / 2, 1 - row / nrows - vgap / 2],
            "anchor": f"x{s}",
            "type": "log" if ylog[i] else "linear",
            "title": {"text": ylabels[i]},
            "exponentformat": "power",
            "gridcolor": "#eceff3",
            "zeroline": False,
            "showline": True,
            "linecolor": "#9aa3ad",
        }
        if share_y and i > 0:
            layout[f"yaxis{s}"]["matches"] = "y"
        if titles[i]:
            layout["annotations"].append(
                {
                    "text": titles[i],
                    "xref": f"x{s} domain",
                    "yref": f"y{s} domain",
                    "x": 0.5,
                    "y": 1.0,
                    "xanchor": "center",
                    "yanchor": "bottom",
                    "showarrow": False,
                    "font": {"size": 11},
                }
            )
    axes = [_suffix(i) for i in range(n)]
    layout["updatemenus"] = scale_menus(
        [f"xaxis{s}" for s in axes], [f"yaxis{s}" for s in axes], xlog[0], ylog[0], height
    )
    return layout


MENU_STEP = 150
"""Pixels between the left edges of the x and y button groups (each about 110 px wide)."""


def _menu_y(height: int) -> float:
    """Paper y (above the plot area) of the button row, 40 px above the top panel's titles."""
    return 1.0 + 40 / (height - MARGIN["t"] - MARGIN["b"])


def scale_menus(xaxes: Sequence[str], yaxes: Sequence[str], xlog: bool, ylog: bool, height: int) -> list[dict]:
    """Two rows of buttons, ``x: log | x: linear`` and ``y: log | y: linear``, each switching every listed axis.

    Args:
        xaxes: the layout keys of the x axes (``xaxis``, ``xaxis2``, …).
        yaxes: those of the y axes.
        xlog: the x axes start logarithmic (that button shows as active).
        ylog: the y axes start logarithmic.
        height: the figure's height in pixels (places the buttons above the panels).

    Returns:
        The ``layout.updatemenus`` list.
    """
    menus = []
    for i, (letter, names, log) in enumerate((("x", xaxes, xlog), ("y", yaxes, ylog))):
        buttons = []
        for kind in ("log", "linear"):
            args: dict[str, Any] = {}
            for name in names:
                args[f"{name}.type"] = kind
                args[f"{name}.autorange"] = True
            buttons.append({"label": f"{letter}: {kind}", "method": "relayout", "args": [args]})
        menus.append(
            {
                "name": f"{letter}-scale",
                "type": "buttons",
                "direction": "right",
                "active": 0 if log else 1,
                "showactive": True,
                "x": 0.0,
                "xanchor": "left",
                "y": _menu_y(height),
                "yanchor": "bottom",
                "pad": {"r": 0, "t": 0, "b": 0, "l": MENU_STEP * i},
                "font": {"size": 10},
                "bgcolor": "#f1f3f6",
                "bordercolor": "#c9d0d9",
                "buttons": buttons,
            }
        )
    return menus


LONG_LEGEND = 40
"""Longest legend entry (characters) kept in a legend right of the plot; longer ones move it below the plot."""


def figure(data: list[dict], layout: Figure) -> Figure:
    """``{"data", "layout", "config"}`` — the figure dict the report embeds; a legend with an entry longer than
    ``LONG_LEGEND`` characters goes below the plot (horizontal), so the panels keep their width. A panel without
    a trace gets an empty one (plotly draws no axes that no trace uses)."""
    used = {(t.get("xaxis", "x"), t.get("yaxis", "y")) for t in data}
    for key in [k for k in layout if k.startswith("xaxis") and layout[k].get("visible", True)]:
        x = "x" + key[5:]
        y = layout[key].get("anchor", "y")
        if (x, y) not in used:
            data.append({"type": "scatter", "x": [], "y": [], "xaxis": x, "yaxis": y, "showlegend": False})
    names = [t.get("name", "") for t in data if t.get("showlegend", True) and t.get("type") == "scatter"]
    if max(map(len, names), default=0) > LONG_LEGEND:
        below = 64 / max(layout["height"] - layout["margin"]["t"] - layout["margin"]["b"], 1)  # under the x title
        layout["legend"] = {**layout.get("legend", {}), "orientation": "h", "x": 0.0, "y": -below, "yanchor": "top"}
    return {"data": data, "layout": layout, "config": CONFIG}


# ---- seed bands (learning curves, probe panels) ------------------------------------------------


def _hyperparameters(row: pd.Series, axes: Sequence[str]) -> list[str]:
    """The swept values of a group by their spec names, then the optimizer's and problem's names."""
    columns = [*axes, *(c for c in ("optimizer_name", "problem_name") if c in row.index and c not in axes)]
    return [f"{text(spec_name(c))} = {text(_value(row[c]))}" for c in columns if _present(row[c])]


def group_hover(row: pd.Series, axes: Sequence[str], label: str) -> str:
    """The hover text of one group of :class:`~descentlab.report.figures.Bands`: its label, its hyperparameters,
    the readable name of its first run and how many seeds the band holds (all escaped).

    Args:
        row: the group's row of ``Bands.groups`` (its first run, with ``_runs``/``_ok``/``_diverged``).
        axes: the swept axes.
        label: the group's label (as in the legend, unescaped).

    Returns:
        The hover text (plotly pseudo-HTML).
    """
    lines = [f"<b>{text(label)}</b>", *_hyperparameters(row, axes)]
    if _present(row.get("name")):
        lines.append(f"first run: {text(row['name'])}")
    seeds = f"{int(row['_ok'])} of {int(row['_runs'])} seeds in the band"
    if int(row["_diverged"]):
        seeds += f" ({int(row['_diverged'])} diverged)"
    lines.append(seeds)
    return "<br>".join(lines)


BAND_TEMPLATE = (
    "%{hovertext}<br>step %{x}: mean %{y:.4g}<br>10–90 % band %{customdata[0]:.3g} … %{customdata[1]:.3g}"
    "<extra></extra>"
)


def band_traces(
    band: pd.DataFrame, color: Any, label: str, group: str, hover: str, axis: str, show_legend: bool, logx: bool
) -> list[dict]:
    """The traces of one group's seed band in one panel: the mean (named, in the legend once) and the band.

    Args:
        band: ``step``, ``mean``, ``lo``, ``hi``, ``n`` of the group (rows of ``Bands.table``).
        color: its matplotlib colour.
        label: its name (unescaped): the group's label with its diverged count in this panel.
        group: its legend group (unescaped): the label without the facet's count, the same in every panel, so
            its legend entry toggles it everywhere.
        hover: its hover text (escaped, from :func:`group_hover`).
        axis: the panel's axis suffix ("", "2", …).
        show_legend: whether this mean trace makes the legend entry.
        logx: the panel's x axis starts logarithmic (steps ≤ 0 are left out of the band polygon, whose fill
            a gap would break; the mean keeps them, shown once the axis is linear).

    Returns:
        One trace (no data: a dotted legend entry), the mean, or the mean and a filled band polygon.
    """
    common = {"legendgroup": text(group), "xaxis": f"x{axis}", "yaxis": f"y{axis}"}
    if band.empty:
        return [
            {
                "type": "scatter",
                "x": [],
                "y": [],
                "mode": "lines",
                "name": text(label),
                "line": {"color": css(color), "dash": "dot"},
                "showlegend": show_legend,
                **common,
            }
        ]
    keep = thin(len(band))
    step = band["step"].to_numpy()[keep]
    mean, lo, hi = (band[c].to_numpy(float)[keep] for c in ("mean", "lo", "hi"))
    traces = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": text(label),
            "x": _steps(step),
            "y": numbers(mean),
            "customdata": [list(pair) for pair in zip(numbers(lo), numbers(hi), strict=True)],
            "hovertext": hover,
            "hovertemplate": BAND_TEMPLATE,
            "line": {"color": css(color), "width": 1.6},
            "showlegend": show_legend,
            **common,
        }
    ]
    if band["n"].max() > 1:
        fill = np.isfinite(lo) & np.isfinite(hi) & ((step > 0) if logx else True)
        if fill.any():
            steps = _steps(step[fill])
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": text(label) + " band",
                    "x": steps + steps[::-1],
                    "y": numbers(hi[fill]) + numbers(lo[fill])[::-1],
                    "fill": "toself",
                    "fillcolor": css(color, 0.2),
                    "line": {"width": 0, "color": css(color, 0.2)},
                    "hoverinfo": "skip",
                    "showlegend": False,
                    **common,
                }
            )
    return traces


def _group_color(layout: F.Layout, colors: dict, key: tuple) -> Any:
    return colors.get(key[0], "C0") if layout.color_col else "C0"


def _panel_groups(bands: F.Bands, layout: F.Layout, value) -> list[tuple[int, tuple, pd.Series, str, str]]:
    """(code, key, row, label, legend group) of each group a panel draws, in legend order: the label as the static
    figure writes it (with the diverged count), the legend group without that count."""
    panel = layout.panel(bands.groups, value)
    out = []
    for code, (_, row) in zip(panel.index, panel.iterrows(), strict=True):
        key = tuple(row[k] for k in layout.keys)
        group = label = F._group_label(layout.keys, key)
        if row["_runs"] > row["_ok"]:
            label += f" ({int(row['_runs'] - row['_ok'])}/{int(row['_runs'])} diverged)"
        out.append((code, key, row, label, group))
    return out


def learning_curves(
    bands: F.Bands,
    metric: str,
    theory: pd.DataFrame | None = None,
    theory_label: str = "theory",
    title: str = "",
    logy: bool = True,
    logx: bool = True,
    seconds_per_step: pd.Series | None = None,
) -> Figure:
    """The interactive :func:`~descentlab.report.figures.learning_curves`: one panel per facet value, per group
    its mean and band (legend group: the group, toggled in every panel at once) and its dashed theory line
    (legend group ``theory_label``, toggling every overlay); against wall-clock seconds ``step ×
    seconds_per_step[group]`` when ``seconds_per_step`` is given (:func:`~descentlab.report.figures.
    group_seconds_per_step`).

    Args:
        bands: the report's seed bands.
        metric: the metric drawn.
        theory: the theory curves (``step``, ``value`` and the swept columns they belong to), or None.
        theory_label: the overlays' legend entry (unescaped).
        title: the figure's title (unescaped).
        logy: start with a log y axis.
        logx: start with a log x axis.
        seconds_per_step: seconds per step by group code, for a wall-clock x axis; None: steps.

    Returns:
        The figure dict.
    """
    layout = bands.layout(F.LINE_FACETS)
    colors, _ = F._color_scale(bands.groups, layout.color_col)
    data: list[dict] = []
    seen: set[str] = set()
    theory_shown = False
    titles = []
    for i, value in enumerate(layout.facet_values):
        axis = _suffix(i)
        facet = {layout.facet: value} if layout.facet is not None else {}
        for code, key, row, label, group in _panel_groups(bands, layout, value):
            color = _group_color(layout, colors, key)
            hover = group_hover(row, bands.axes, label)
            scale = 1.0 if seconds_per_step is None else float(seconds_per_step.get(code, np.nan))
            band = bands.band(code, metric)
            if seconds_per_step is not None:
                band = band.assign(step=band["step"] * scale)
            data += band_traces(band, color, label, group, hover, axis, group not in seen, logx)
            seen.add(group)
            if theory is not None:
                match = F._theory_line(theory, {**dict(zip(layout.keys, key, strict=True)), **facet})
                if len(match):
                    match = match.iloc[thin(len(match))]
                    data.append(
                        {
                            "type": "scatter",
                            "mode": "lines",
                            "name": text(theory_label),
                            "legendgroup": text(f"theory: {theory_label}"),
                            "legendrank": 1001,
                            "showlegend": not theory_shown,
                            "x": _steps(match["step"] * scale if seconds_per_step is not None else match["step"]),
                            "y": numbers(match["value"]),
                            "hovertext": f"<b>{text(theory_label)}</b><br>{text(label)}",
                            "hovertemplate": "%{hovertext}<br>step %{x}: %{y:.4g}<extra></extra>",
                            "line": {"color": css(color), "dash": "dash", "width": 1.6},
                            "xaxis": f"x{axis}",
                            "yaxis": f"y{axis}",
                        }
                    )
                    theory_shown = True
        titles.append(
            text(F._facet_title(bands.groups, layout, value) + F._drawn_note(bands.groups, layout, value)).replace(
                "\n", "<br>"
            )
        )
    n = len(layout.facet_values)
    ylabels = [text(metric.replace("_", " "))] + [""] * (n - 1)
    xlabel = "step" if seconds_per_step is None else text(F.WALL_CLOCK_LABEL)
    fig_layout = grid_layout(1, n, titles, xlabel, ylabels, [logx] * n, [logy] * n, text(title), share_y=True)
    return figure(data, fig_layout)


def probe_panels(bands: F.Bands, metrics: Sequence[str], title: str = "", logx: bool = True) -> Figure:
    """The interactive :func:`~descentlab.report.figures.probe_panels`: a row of panels per probe metric (columns:
    the facet values, or the metrics wrapped over three columns without facets), per group its mean and band,
    and for sharpness the dashed edge-of-stability line of each learning rate (legend group: its formula).

    Args:
        bands: the report's seed bands.
        metrics: the probe metrics, one row each.
        title: the figure's title (unescaped).
        logx: start with a log x axis.

    Returns:
        The figure dict.
    """
    layout = bands.layout(F.PROBE_FACETS)
    colors, _ = F._color_scale(bands.groups, layout.color_col)
    if layout.facet is None:
        ncols = min(len(metrics), 3)
        cells = [(m, None, i) for i, m in enumerate(metrics)]
    else:
        ncols = len(layout.facet_values)
        cells = [(m, f, i * ncols + j) for i, m in enumerate(metrics) for j, f in enumerate(layout.facet_values)]
    nrows = max(index for _, _, index in cells) // ncols + 1
    n = nrows * ncols
    titles, ylabels, ylog = [""] * n, [""] * n, [False] * n
    steps = bands.table["step"].to_numpy(float) if len(bands.table) else np.array([1.0])
    positive = steps[steps > 0]
    line_x = [float(positive.min()) if positive.size else 1.0, float(steps.max())]
    data: list[dict] = []
    seen: set[str] = set()
    formulas: set[str] = set()
    for metric, value, index in cells:
        axis = _suffix(index)
        groups = _panel_groups(bands, layout, value)
        for code, key, row, label, group in groups:
            color = _group_color(layout, colors, key)
            hover = group_hover(row, bands.axes, label)
            data += band_traces(bands.band(code, metric), color, label, group, hover, axis, group not in seen, logx)
            seen.add(group)
        low, high = bands.value_range(metric, [code for code, *_ in groups])
        if metric in ("sharpness", "preconditioned_sharpness"):
            lines: dict[tuple[float, Any], tuple[str, str]] = {}
            for _code, key, row, label, _group in groups:
                if row["_ok"] > 0:
                    line = F.stability_threshold(row, metric)
                    if line is not None:
                        lines.setdefault((line[0], _group_color(layout, colors, key)), (line[1], label))
            for (threshold, color), (formula, label) in lines.items():
                data.append(
                    {
                        "type": "scatter",
                        "mode": "lines",
                        "name": text(formula),
                        "legendgroup": text(f"stability: {formula}"),
                        "legendrank": 1001,
                        "showlegend": formula not in formulas,
                        "x": line_x,
                        "y": numbers([threshold, threshold]),
                        "hovertext": f"<b>edge of stability {text(formula)}</b><br>{text(label)}",
                        "hovertemplate": "%{hovertext}<br>%{y:.4g}<extra></extra>",
                        "line": {"color": css(color), "dash": "dash", "width": 1.2},
                        "xaxis": f"x{axis}",
                        "yaxis": f"y{axis}",
                    }
                )
                formulas.add(formula)
        name = metric.replace("_", " ")
        panel_title = name if layout.facet is None else f"{name} · {F._facet_title(bands.groups, layout, value)}"
        titles[index] = text(panel_title + F._drawn_note(bands.groups, layout, value)).replace("\n", "<br>")
        ylog[index] = bool(low > 0 and high > 20 * low)
    fig_layout = grid_layout(nrows, ncols, titles, "step", ylabels, [logx] * n, ylog, text(title))
    for index in range(len(cells), n):  # empty cells of a wrapped grid
        s = _suffix(index)
        fig_layout[f"xaxis{s}"]["visible"] = fig_layout[f"yaxis{s}"]["visible"] = False
    return figure(data, fig_layout)


# ---- final value, heatmap, performance profile ------------------------------------------------


def final_vs_axis(lines: F.FinalLines, title: str = "") -> Figure:
    """The interactive :func:`~descentlab.report.figures.final_vs_axis`: per combination of the other swept axes
    the seed mean (markers: each point's hover names its first run) and its band; × where every seed diverged.

    Args:
        lines: the aggregated lines (:func:`~descentlab.report.figures.final_lines`).
        title: the figure's title (unescaped).

    Returns:
        The figure dict.
    """
    axis, metric = lines.axis, lines.metric
    data: list[dict] = []
    for key, line in lines.lines:
        color = lines.color(key)
        label = F._group_label(lines.others, key)
        params = [f"{text(spec_name(c))} = {text(_value(v))}" for c, v in zip(lines.others, key, strict=True)]
        hovers = []
        for _, point in line.iterrows():
            parts = [f"<b>{text(label)}</b>", *params, f"{text(spec_name(axis))} = {text(_value(point[axis]))}"]
            if _present(point.get("name")):
                parts.append(f"first run: {text(point['name'])}")
            parts.append(f"{int(point['n'])} seeds not diverged")
            parts.append(f"final {text(metric.replace('_', ' '))}:")
            hovers.append("<br>".join(parts))
        x = numbers(line[axis]) if F._is_numeric(line[axis]) else [str(v) for v in line[axis]]
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers" if len(line) <= 50 else "lines",
                "name": text(label),
                "legendgroup": text(label),
                "x": x,
                "y": numbers(line["mean"]),
                "customdata": [list(p) for p in zip(numbers(line["lo"]), numbers(line["hi"]), strict=True)],
                "hovertext": hovers,
                "hovertemplate": (
                    "%{hovertext} mean %{y:.4g}<br>10–90 % band %{customdata[0]:.3g} … %{customdata[1]:.3g}"
                    "<extra></extra>"
                ),
                "line": {"color": css(color), "width": 1.6},
                "marker": {"size": 5},
            }
        )
        fill = line[line["lo"].notna() & line["hi"].notna()]
        if lines.logx:
            fill = fill[fill[axis] > 0]
        if len(fill):
            fx = numbers(fill[axis])
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": text(label) + " band",
                    "legendgroup": text(label),
                    "showlegend": False,
                    "x": fx + fx[::-1],
                    "y": numbers(fill["hi"]) + numbers(fill["lo"])[::-1],
                    "fill": "toself",
                    "fillcolor": css(color, 0.2),
                    "line": {"width": 0, "color": css(color, 0.2)},
                    "hoverinfo": "skip",
                }
            )
        gone = line[line["mean"].isna()]
        if len(gone):
            top = float(np.nanmax(line["hi"])) if line["hi"].notna().any() else 1.0
            data.append(
                {
                    "type": "scatter",
                    "mode": "markers",
                    "name": text(label) + " diverged",
                    "legendgroup": text(label),
                    "showlegend": False,
                    "x": numbers(gone[axis]),
                    "y": numbers([top] * len(gone)),
                    "marker": {"symbol": "x", "size": 9, "color": css(color)},
                    "hovertext": [
                        f"<b>{text(label)}</b><br>{text(spec_name(axis))} = {text(_value(v))}<br>every seed diverged"
                        for v in gone[axis]
                    ],
                    "hovertemplate": "%{hovertext}<extra></extra>",
                }
            )
    ylabel = text(f"final {metric.replace('_', ' ')}")
    fig_layout = grid_layout(1, 1, [""], text(F.axis_label(axis)), [ylabel], [lines.logx], [lines.logy], text(title))
    return figure(data, fig_layout)


def _colorscale(name: str, steps: int = 11) -> list[list]:
    """A matplotlib colormap as a plotly colorscale (``steps`` stops)."""
    cmap = matplotlib.colormaps[name]
    return [[round(t, 4), css(cmap(t))] for t in np.linspace(0.0, 1.0, steps).tolist()]


def log_ticks(values: np.ndarray) -> tuple[list[float], list[str]]:
    """Colour-bar ticks for a log colour scale over positive ``values``: 1, 2 and 5 times each power of ten inside
    their range (at their log10), labelled with the value.

    Args:
        values: the positive values drawn.

    Returns:
        (tick positions on the log10 scale, their labels).
    """
    low, high = float(values.min()), float(values.max())
    ticks = [
        m * 10.0**k
        for k in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
        for m in (1, 2, 5)
        if low <= m * 10.0**k <= high
    ]
    if len(ticks) < 2:
        ticks = sorted({low, high})
    return [float(f"{math.log10(t):.6g}") for t in ticks], [f"{t:.3g}" for t in ticks]


def heatmap(grid: F.HeatmapGrid, title: str = "") -> Figure:
    """The interactive :func:`~descentlab.report.figures.heatmap`: one heatmap trace (hover: both axes' values,
    the cell's value and how many of its seeds diverged), × on cells where every seed diverged, ``k/n`` on small
    maps, and — when every value is positive — buttons switching the colour scale between log and linear.

    Args:
        grid: the aggregated cells (:func:`~descentlab.report.figures.heatmap_grid`).
        title: the figure's title (unescaped).

    Returns:
        The figure dict.
    """
    ny, nx = grid.values.shape
    xtitle, ytitle = grid.axis_title("x"), grid.axis_title("y")
    finite = grid.values[np.isfinite(grid.values)]
    mark = "≥" if grid.x_binned else ""
    ymark = "≥" if grid.y_binned else ""
    hover = [
        [
            "<br>".join(
                [
                    f"{text(xtitle)} {mark}{text(_value(grid.xs[x]))}",
                    f"{text(ytitle)} {ymark}{text(_value(grid.ys[y]))}",
                    f"{text(grid.label)}: "
                    + (f"{grid.values[y, x]:.4g}" if np.isfinite(grid.values[y, x]) else "— (every seed diverged)"),
                    f"{int(grid.diverged[y, x])}/{int(grid.total[y, x])} seeds diverged",
                ]
            )
            for x in range(nx)
        ]
        for y in range(ny)
    ]
    linear = [numbers(row) for row in grid.values]
    positive = finite.size > 0 and bool(finite.min() > 0) and grid.metric != "diverged"
    trace: dict[str, Any] = {
        "type": "heatmap",
        "x": list(range(nx)),
        "y": list(range(ny)),
        "z": linear,
        "text": hover,
        "hovertemplate": "%{text}<extra></extra>",
        "colorscale": _colorscale("magma_r" if grid.metric == "diverged" else "viridis"),
        "colorbar": {"title": {"text": text(grid.label), "side": "right"}},
        "xgap": 1,
        "ygap": 1,
    }
    if grid.metric == "diverged":
        trace["zmin"], trace["zmax"] = 0.0, 1.0
    menus = []
    if positive:
        logs = [numbers(np.log10(np.where(np.isfinite(row), row, np.nan))) for row in grid.values]
        tickvals, ticktext = log_ticks(finite)
        log_style = {"z": [logs], "colorbar.tickvals": [tickvals], "colorbar.ticktext": [ticktext]}
        linear_style = {"z": [linear], "colorbar.tickvals": [None], "colorbar.ticktext": [None]}
        if grid.log_color:
            trace.update(z=logs, colorbar={**trace["colorbar"], "tickvals": tickvals, "ticktext": ticktext})
        menus.append(
            {
                "name": "colour-scale",
                "type": "buttons",
                "direction": "right",
                "active": 0 if grid.log_color else 1,
                "showactive": True,
                "x": 1.0,
                "xanchor": "right",
                "y": 1.0,
                "yanchor": "bottom",
                "pad": {"r": 4, "t": 0, "b": 24, "l": 4},
                "font": {"size": 10},
                "bgcolor": "#f1f3f6",
                "bordercolor": "#c9d0d9",
                "buttons": [
                    {"label": "colour: log", "method": "restyle", "args": [log_style, [0]]},
                    {"label": "colour: linear", "method": "restyle", "args": [linear_style, [0]]},
                ],
            }
        )
    data = [trace]
    marks = [
        (x, y, "×" if grid.diverged[y, x] == grid.total[y, x] and grid.metric != "diverged" else None)
        for y, x in zip(*np.nonzero(grid.diverged), strict=True)
    ]
    small = nx * ny <= 150
    labels = [(x, y, mark or f"{grid.diverged[y, x]}/{grid.total[y, x]}") for x, y, mark in marks if mark or small]
    if labels:
        data.append(
            {
                "type": "scatter",
                "mode": "text",
                "x": [int(x) for x, _, _ in labels],
                "y": [int(y) for _, y, _ in labels],
                "text": [label for _, _, label in labels],
                "textfont": {"color": "#7a1f1f", "size": 13 if nx * ny <= 400 else 8},
                "hoverinfo": "skip",
                "showlegend": False,
            }
        )
    xticks, xlabels = F._cell_ticks(grid.xs, grid.x_binned)
    yticks, ylabels = F._cell_ticks(grid.ys, grid.y_binned)
    height = max(300, min(ny, 24) * 22 + 180)
    layout = {
        "height": height,
        "margin": {**MARGIN, "t": 80},
        "font": FONT,
        "plot_bgcolor": "#d0d4da",
        "paper_bgcolor": "#ffffff",
        "title": {"text": text(title), "x": 0.01, "xanchor": "left"},
        "xaxis": {
            "title": {"text": text(xtitle)},
            "tickmode": "array",
            "tickvals": [int(v) for v in xticks],
            "ticktext": [text(v) for v in xlabels],
            "showgrid": False,
            "zeroline": False,
        },
        "yaxis": {
            "title": {"text": text(ytitle)},
            "tickmode": "array",
            "tickvals": [int(v) for v in yticks],
            "ticktext": [text(v) for v in ylabels],
            "showgrid": False,
            "zeroline": False,
        },
        "updatemenus": menus,
    }
    return figure(data, layout)


def performance_profile(profile: F.Profile, title: str = "") -> Figure:
    """The interactive :func:`~descentlab.report.figures.performance_profile`: one step curve per solver, best
    first, on a log τ axis ticked at powers of two.

    Args:
        profile: the profile (:func:`~descentlab.report.figures.profile_data`).
        title: the figure's title (unescaped).

    Returns:
        The figure dict.
    """
    data = []
    for i, solver in enumerate(profile.order):
        label = profile.label(solver)
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": text(label),
                "legendgroup": text(label),
                "x": numbers(profile.taus),
                "y": numbers(profile.rho[solver]),
                "line": {
                    "shape": "hv",
                    "color": css(f"C{i % 10}"),
                    "dash": DASHES[F.PROFILE_DASHES[(i // 10) % len(F.PROFILE_DASHES)]],
                    "width": 1.6,
                },
                "hovertext": f"<b>{text(solver)}</b><br>solved {profile.solved[solver]:.0%} of "
                f"{profile.n_problems} problems",
                "hovertemplate": "%{hovertext}<br>τ = %{x:.3g}: ρ = %{y:.3f}<extra></extra>",
            }
        )
    layout = grid_layout(
        1,
        1,
        [""],
        text(F.PROFILE_XLABEL),
        [text(F.profile_ylabel(profile.n_problems))],
        [True],
        [False],
        text(title),
    )
    powers = [2.0**k for k in range(math.floor(math.log2(profile.top)) + 1)]
    layout["xaxis"].update(tickmode="array", tickvals=powers, ticktext=[f"{p:g}" for p in powers])
    return figure(data, layout)


# ---- embedding --------------------------------------------------------------------------------


def script_json(spec: Figure | str) -> str:
    """``spec`` as JSON safe inside a ``<script type="application/json">`` block: ``<``, ``>`` and ``&`` as
    ``\\u`` escapes (JSON.parse reads them back), so no string in it can close the block or open a comment.

    Args:
        spec: the figure dict, or its JSON text.

    Returns:
        The escaped JSON text.
    """
    raw = spec if isinstance(spec, str) else json.dumps(spec, allow_nan=False, separators=(",", ":"))
    return raw.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def chart_block(spec: Figure | str, chart_id: str) -> str:
    """The HTML of one interactive chart: an empty, hidden ``<div>`` (shown by :data:`BOOT_JS` once plotly.js has
    loaded) and its figure as JSON.

    Args:
        spec: the figure dict, or its JSON text.
        chart_id: the div's id (generated by the report, never a user string).

    Returns:
        The HTML.
    """
    return (
        f'<div class="chart" id="{chart_id}" hidden></div>'
        f'<script type="application/json" class="plotly-figure" data-chart="{chart_id}">{script_json(spec)}</script>'
    )


BOOT_JS = """
(function(){
  if (!window.Plotly) { return; }  // plotly.js not found (assets not copied): the static images stay shown
  document.querySelectorAll('script.plotly-figure').forEach(function(block){
    var div = document.getElementById(block.dataset.chart), fig = JSON.parse(block.textContent);
    div.hidden = false;
    Plotly.newPlot(div, fig.data, fig.layout, fig.config).then(function(){
      var still = div.parentNode.querySelector('details.static');
      if (still) { still.open = false; }
    }, function(){ div.hidden = true; });
  });
  window.addEventListener('beforeprint', function(){
    document.querySelectorAll('details.static').forEach(function(d){ d.open = true; });
  });
})();
"""
"""Renders every chart of the page; once a chart is drawn its static image folds away (printing unfolds it)."""


def plotly_js() -> Path:
    """The minified plotly.js bundled with the installed ``plotly`` package (found without importing it).

    Returns:
        Its path.
    """
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("descentlab's interactive report needs the plotly package (pip install plotly)")
    return Path(next(iter(spec.submodule_search_locations))) / "package_data" / PLOTLY_JS


def install_asset(folder: Path) -> Path:
    """Copy plotly.js into ``folder`` (``<store>/assets``), atomically and only when missing or different.

    Args:
        folder: the assets folder.

    Returns:
        The path of the copy.
    """
    source, target = plotly_js(), folder / PLOTLY_JS
    if target.is_file() and filecmp.cmp(source, target, shallow=False):
        return target
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{PLOTLY_JS}.{uuid.uuid4().hex}.tmp"
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def asset_src(report_folder: Path, store_root: Path) -> str:
    """The relative URL of plotly.js for a report in ``report_folder``, installing it first.

    A report inside the store uses the store's ``<store>/assets`` (``../../assets/plotly.min.js`` from
    ``<exp>/report``); one written elsewhere (``descentlab report --out``) gets its own ``assets`` folder.

    Args:
        report_folder: the folder of the report's ``index.html``.
        store_root: the store's root folder.

    Returns:
        The URL, relative to the report, with ``/`` separators and percent-escaped.
    """
    folder, root = Path(report_folder).resolve(), Path(store_root).resolve()
    base = root if folder.is_relative_to(root) else folder
    target = install_asset(base / ASSETS)
    return urllib.parse.quote(Path(os.path.relpath(target, folder)).as_posix())
