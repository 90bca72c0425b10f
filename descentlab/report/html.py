"""A self-contained, offline HTML report per experiment, and an index over the whole store.

Images are embedded as base64 PNG; a figure drawn by :mod:`descentlab.report.figures` also comes as an
interactive plotly chart (:mod:`descentlab.report.interactive`: its JSON inline, plotly.js from the store's
``assets`` folder by a relative path), shown above its static image, which folds away once the chart is drawn
and stays shown without JavaScript. The other scripts (table sorting, drawing the charts) are inline, and every
string that comes from a spec or the store is escaped — the page fetches nothing from the network.
"""

from __future__ import annotations

import base64
import functools
import html
import json
import os
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from descentlab.report import figures as F
from descentlab.report import interactive as I
from descentlab.report.reading import read_curves
from descentlab.store import Store
from descentlab.store.schema import swept_axes

MAX_TABLE_ROWS = 1000
"""Most rows of the runs table in a report page; the page says how many more the store holds."""

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2330;background:#fafbfc}
main{max-width:1180px;margin:0 auto;padding:24px 28px 60px}
h1{font-size:1.6em;margin:.2em 0}
h2{font-size:1.2em;margin-top:1.8em;border-bottom:1px solid #e3e6ea;padding-bottom:.3em}
.sub{color:#5b6472}.verdict{padding:12px 16px;border-radius:8px;margin:14px 0;font-size:1.05em}
.pass{background:#e6f6ea;border:1px solid #7cc68e}.fail{background:#fdecea;border:1px solid #e08a80}
.none{background:#eef1f5;border:1px solid #c9d0d9}
.warn{background:#fff6e0;border:1px solid #e0b050}
figure{margin:14px 0;background:#fff;border:1px solid #e3e6ea;border-radius:8px;padding:10px}
figure img{max-width:100%;height:auto;display:block;margin:0 auto}figcaption{color:#5b6472;font-size:.9em}
table{border-collapse:collapse;font-size:.85em;background:#fff}
th,td{border:1px solid #e3e6ea;padding:3px 8px;text-align:right}
th{background:#f1f3f6;cursor:pointer;position:sticky;top:0}td.l,th.l{text-align:left}
.scroll{max-height:460px;overflow:auto;border:1px solid #e3e6ea}tr.diverged td{color:#b3261e}
pre{background:#fff;border:1px solid #e3e6ea;padding:10px;overflow:auto;font-size:.82em}
.kv td{text-align:left}
.chart{width:100%;min-height:300px}details.static summary{color:#5b6472;font-size:.85em;cursor:pointer}
@media print{.chart{display:none}}
"""

SORT_JS = """
document.querySelectorAll('table.sortable th').forEach(function(th, col){
  th.addEventListener('click', function(){
    var table = th.closest('table'), body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows), asc = th.dataset.asc !== '1';
    rows.sort(function(a, b){
      var x = a.cells[col].textContent, y = b.cells[col].textContent;
      var nx = parseFloat(x), ny = parseFloat(y);
      var cmp = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
      return asc ? cmp : -cmp;
    });
    rows.forEach(function(r){ body.appendChild(r); });
    th.dataset.asc = asc ? '1' : '0';
  });
});
"""


def esc(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def embed_png(path: str | Path) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f"data:image/png;base64,{data}"


def _cell(value) -> str:
    if isinstance(value, float):
        return "" if pd.isna(value) else f"{value:.6g}"
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(value)


def write_text_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same folder and ``os.replace``: a reader sees
    the old page or the new one, never half of one."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def runs_table(runs: pd.DataFrame, max_rows: int = MAX_TABLE_ROWS) -> str:
    """The sortable runs table: the first ``max_rows`` runs, and a note on how many more are stored."""
    if runs.empty:
        return "<p>No runs stored.</p>"
    axes = swept_axes(runs)
    finals = [c for c in runs.columns if c.startswith("final_")]
    cols = ["run", "name", *axes, "seed", "status", "divergence_step", *finals]
    cols = [c for c in dict.fromkeys(cols) if c in runs.columns]
    head = "".join(f'<th class="{"l" if c in ("name", "status") else ""}">{esc(c)}</th>' for c in cols)
    body = []
    for _, row in runs.head(max_rows).iterrows():
        cls = ' class="diverged"' if row.get("status") == "diverged" else ""
        cells = "".join(f'<td class="{"l" if c in ("name", "status") else ""}">{esc(_cell(row[c]))}</td>' for c in cols)
        body.append(f"<tr{cls}>{cells}</tr>")
    note = (
        (
            f"<p class='sub'>First {max_rows} of {len(runs)} runs; the other {len(runs) - max_rows} are in the "
            "store (<code>descentlab query</code>).</p>"
        )
        if len(runs) > max_rows
        else ""
    )
    return (
        f'{note}<div class="scroll"><table class="sortable"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def verdict_block(verdicts: pd.DataFrame) -> str:
    if verdicts is None or verdicts.empty:
        return '<div class="verdict none">No verdict: this experiment names no theory to check.</div>'
    parts = []
    for _, v in verdicts.iterrows():
        cls = "pass" if bool(v["passed"]) else "fail"
        word = "pass" if bool(v["passed"]) else "fail"
        parts.append(
            f'<div class="verdict {cls}"><b>{esc(v.get("claim", ""))}</b><br>verdict: {word} '
            f"{esc(_cell(v['figure']))} ({esc(v.get('what', ''))}, tolerance {esc(_cell(v.get('tolerance')))})</div>"
        )
    return "".join(parts)


def control_outcomes(store: Store, experiments: Mapping[str, str]) -> dict[str, pd.Series]:
    """The stored headline verdict of each control that has been run: ``experiments`` maps a control's name to
    the experiment it stores its verdicts under (the study's size and scale)."""
    out: dict[str, pd.Series] = {}
    for control, experiment in experiments.items():
        verdicts = store.verdicts(experiment, control=control)
        if len(verdicts):
            out[control] = verdicts.iloc[0]
    return out


def controls_block(
    store: Store, study: str, controls: Sequence[Any], experiments: Mapping[str, str], current: str = ""
) -> str:
    """The "what would make this verdict fail" table: each must-fail control, what it breaks, and the
    headline verdict stored for it (``descentlab run STUDY --control NAME`` at the same size), when it has
    been run; ``experiments`` maps each control to the experiment holding its verdicts."""
    if not controls:
        return ""
    outcomes = control_outcomes(store, experiments)
    rows = []
    for control in controls:
        outcome = outcomes.get(control.name)
        if outcome is None:
            result = f"not run yet: <code>descentlab run {esc(study)} --control {esc(control.name)}</code>"
        else:
            good = not bool(outcome["passed"])  # a control must fail
            result = (
                f'<span class="{"pass" if good else "fail"}">verdict {"fail" if good else "PASS"} '
                f"{esc(_cell(outcome['figure']))}</span>" + ("" if good else " — the check has no teeth here")
            )
        here = " (this report)" if control.name == current else ""
        rows.append(
            f"<tr><td class='l'><code>{esc(control.name)}</code>{here}</td>"
            f"<td class='l'>{'mechanism' if control.mechanism else 'prediction'}</td>"
            f"<td class='l'>{esc(control.breaks)}</td><td class='l'>{result}</td></tr>"
        )
    return (
        "<h2 id='controls'>What would make this verdict fail</h2><p class='sub'>Must-fail controls: the claim "
        "made false on purpose. The verdict has teeth when every one of them fails.</p>"
        "<div class='scroll'><table><thead><tr><th class='l'>control</th><th class='l'>breaks</th>"
        "<th class='l'>what it breaks</th><th class='l'>stored outcome</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></div>"
    )


def checks_block(checks: Sequence[Any]) -> str:
    """The "how each verdict is judged" table: a study's declared checks (headline first) — the figure, what it
    is compared with, the tolerance and the measured spread the tolerance comes from."""
    if not checks:
        return ""
    rows = "".join(
        f"<tr><td class='l'><code>{esc(c.name)}</code>{' (headline)' if i == 0 else ''}</td>"
        f"<td class='l'>{esc(c.measures)}</td><td class='l'>{esc(c.predicts)}</td><td>{esc(_cell(c.tolerance))}</td>"
        f"<td class='l'>{esc(c.basis)}</td></tr>"
        for i, c in enumerate(checks)
    )
    return (
        "<h2 id='checks'>How each verdict is judged</h2><p class='sub'>Declared by the study before it runs.</p>"
        "<div class='scroll'><table><thead><tr><th class='l'>check</th><th class='l'>figure</th>"
        "<th class='l'>compared with</th><th>tolerance</th><th class='l'>where the tolerance comes from</th>"
        f"</tr></thead><tbody>{rows}</tbody></table></div>"
    )


def diverged_block(runs: pd.DataFrame) -> str:
    """A warning line under the verdict when runs diverged: how many, and at which swept values."""
    if runs.empty or not (runs["status"] == "diverged").any():
        return ""
    bad = runs[runs["status"] == "diverged"]
    axes = swept_axes(runs)
    where = ""
    if axes:
        groups = bad.groupby(axes, dropna=False, sort=True).size()
        items = [
            ", ".join(
                f"{F.axis_label(a)}={F._format(v)}"
                for a, v in zip(axes, k if isinstance(k, tuple) else (k,), strict=True)
            )
            + f" ({n})"
            for k, n in groups.items()
        ]
        where = " — at " + "; ".join(items[:8]) + (f"; … {len(items) - 8} more" if len(items) > 8 else "")
    return (
        f'<div class="verdict warn" id="diverged">⚠ {len(bad)} of {len(runs)} runs diverged '
        f"(left out of means and bands; marked in the runs table){esc(where)}</div>"
    )


def interactive_spec(path: str | Path) -> str | None:
    """The interactive version saved next to a figure's PNG (``<stem>.plotly.json``, see
    :func:`descentlab.report.figures.save`) as JSON text, or None: none saved, or older than the PNG (the image
    was redrawn by other means since)."""
    path = Path(path)
    spec = path.with_name(path.stem + F.INTERACTIVE_SUFFIX)
    try:
        if spec.stat().st_mtime < path.stat().st_mtime:
            return None
        return spec.read_text(encoding="utf-8")
    except OSError:
        return None


def figure_block(caption: str, path: str | Path, chart_id: str = "") -> str:
    """One embedded PNG, with links to the SVG / PDF written next to it (they are not loaded by the page).

    With a ``chart_id`` and an interactive version saved next to the PNG (:func:`interactive_spec`), the chart
    comes first and the PNG goes into an open ``<details>`` that the chart folds once drawn."""
    path = Path(path)
    links = " · ".join(
        f'<a href="{esc(path.with_suffix("." + fmt).name)}">{fmt.upper()}</a>'
        for fmt in ("svg", "pdf")
        if path.with_suffix("." + fmt).exists()
    )
    image = f'<img src="{embed_png(path)}" alt="{esc(caption)}">'
    spec = interactive_spec(path) if chart_id else None
    if spec is not None:
        image = (
            I.chart_block(spec, chart_id)
            + f'<details class="static" open><summary>static image</summary>{image}</details>'
        )
    return f"<figure>{image}<figcaption>{esc(caption)}{' · ' + links if links else ''}</figcaption></figure>"


def chart_scripts(folder: Path, store: Store, page: str) -> str:
    """The scripts that draw the page's charts: plotly.js from the store's assets (installed when missing, by a
    path relative to ``folder``) and :data:`~descentlab.report.interactive.BOOT_JS`; "" when ``page`` has none."""
    if 'class="plotly-figure"' not in page:
        return ""
    return f'<script src="{esc(I.asset_src(folder, store.root))}"></script><script>{I.BOOT_JS}</script>'


def summed_over(info: dict) -> str:
    """`` (summed over N invocations)`` when the experiment's seconds add up several invocations (a resumed run),
    else nothing."""
    count = info.get("invocations")
    return f" (summed over {int(count)} invocations)" if count is not None and count > 1 else ""


def provenance(info: dict) -> str:
    keys = [
        "experiment",
        "name",
        "status",
        "created_at",
        "finished_at",
        "n_runs",
        "diverged",
        "device",
        "executor",
        "dtype",
        "steps",
        "git_commit",
        "compile_seconds",
        "run_seconds",
        "store_seconds",
        "invocations",
    ]
    rows = "".join(f"<tr><th class='l'>{esc(k)}</th><td>{esc(_cell(info.get(k)))}</td></tr>" for k in keys)
    versions = json.loads(info.get("versions") or "{}")
    vrows = "".join(f"<tr><th class='l'>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in versions.items())
    spec = json.dumps(json.loads(info.get("spec") or "{}"), indent=2, sort_keys=True)
    return (
        f"<table class='kv'>{rows}</table><h3>Versions</h3><table class='kv'>{vrows}</table>"
        f"<h3>Spec</h3><pre>{esc(spec)}</pre>"
    )


def default_figures(
    store: Store, experiment: str, folder: Path, runs: pd.DataFrame, bands: F.Bands
) -> list[tuple[str, str]]:
    """Learning curves for each recorded metric (up to four) and the final-value sweep, from ``bands``."""
    name = store.experiment_row(experiment)["name"]
    theory = store.theory(experiment)
    verdicts = store.verdicts(experiment)
    out = []
    stored = bands.metrics
    if not stored:
        return out
    theory_metric = theory["metric"].iloc[0] if theory is not None else None  # the metric the theory speaks about
    # probe metrics get their own panels (automatic_figures); learning curves are for the rest
    metrics = [m for m in stored if not F.is_probe_metric(m) or m == theory_metric] or stored
    metrics = sorted(metrics, key=lambda m: m != theory_metric)  # the theory's metric comes first
    for metric in metrics[:4]:
        positive = bands.value_range(metric)[0] > 0
        overlay, label = None, "theory"
        if theory is not None and metric == theory_metric:
            overlay = theory
            label = theory["prediction"].iloc[0]
            if not verdicts.empty:
                label += f" ({'pass' if bool(verdicts['passed'].iloc[0]) else 'fail'} {verdicts['figure'].iloc[0]:.3g})"
        fig = F.learning_curves(runs, bands, metric, theory=overlay, theory_label=label, title=name, logy=positive)
        paths = F.save(fig, folder, f"curves_{metric}")
        out.append((f"{metric} vs step: mean over seeds, band 10–90 %", paths["png"]))
    if bands.axes and f"final_{metrics[0]}" in runs:
        fig = F.final_vs_axis(runs, metrics[0])
        paths = F.save(fig, folder, f"final_{metrics[0]}")
        out.append((f"final {metrics[0]} against the swept hyperparameter", paths["png"]))
    return out + automatic_figures(runs, bands, folder, metrics[0])


def automatic_figures(
    runs: pd.DataFrame, bands: F.Bands, folder: Path, metric: str | None = None, skip: Sequence[str] = ()
) -> list[tuple[str, str]]:
    """Figures every report gets when the data allow them (stems in ``skip`` are left out).

    * ``probes``: probe panels when sharpness / ntk_alignment / overlap_* metrics are stored;
    * ``heatmap_<metric>`` and ``trainability``: maps over the first two numeric swept axes.
    """
    out = []
    if not bands.metrics:
        return out
    probes = F.probe_metrics(bands.metrics)
    if probes and "probes" not in skip:
        paths = F.save(F.probe_panels(runs, bands, probes), folder, "probes")
        out.append(
            (
                "Probes: seed mean and 10–90 % band; dashed: the edge-of-stability line of each learning rate"
                if any(p.endswith("sharpness") for p in probes)
                else "Probes: seed mean and 10–90 % band",
                paths["png"],
            )
        )
    numeric = F.numeric_axes(runs)
    if len(numeric) >= 2:
        x_axis, y_axis = sorted(numeric[:2], key=lambda c: -runs[c].nunique())
        metric = metric or next((c[6:] for c in runs.columns if c.startswith("final_")), None)
        if metric and f"final_{metric}" in runs and f"heatmap_{metric}" not in skip:
            paths = F.save(F.heatmap(runs, x_axis, y_axis, metric), folder, f"heatmap_{metric}")
            out.append(
                (
                    f"final {metric} over {F.axis_label(x_axis)} × {F.axis_label(y_axis)} "
                    "(seed mean of non-diverged runs; × = every seed diverged)",
                    paths["png"],
                )
            )
        if (runs["status"] == "diverged").any() and "trainability" not in skip:
            paths = F.save(F.heatmap(runs, x_axis, y_axis, "diverged"), folder, "trainability")
            out.append(("Trainability map: fraction of seeds that diverged", paths["png"]))
    return out


def write_report(
    store: Store,
    experiment: str,
    out: str | Path | None = None,
    figures: Sequence[tuple[str, str]] | None = None,
    claim: str | None = None,
    study: str | None = None,
    control: str = "",
    controls: Sequence[Any] = (),
    control_experiments: Mapping[str, str] | None = None,
    checks: Sequence[Any] = (),
) -> Path:
    """Write ``<store>/<experiment>/report/index.html`` (or ``out``); returns its path.

    For a study, ``study`` names it, ``control`` the control whose verdicts are shown ("" for the study's
    own) and ``controls`` its must-fail controls, listed with the outcomes stored under
    ``control_experiments`` (control name → experiment, see :func:`descentlab.studies.base.control_experiments`),
    and ``checks`` the checks its verdicts were judged by (:class:`descentlab.studies.Check`)."""
    folder = Path(out) if out is not None else store.report_dir(experiment)
    folder.mkdir(parents=True, exist_ok=True)
    info = store.experiment_row(experiment)
    runs = store.read(experiment, "runs")
    bands = F.seed_bands(runs, functools.partial(read_curves, store, experiment))
    if figures is None:
        figures = default_figures(store, experiment, folder, runs, bands)
    else:  # a study's own figures, plus the probe panels / heatmaps it did not draw itself
        figures = list(figures)
        stems = {Path(path).stem for _, path in figures}
        figures += automatic_figures(runs, bands, folder, skip=stems)
    diverged = int((runs["status"] == "diverged").sum()) if len(runs) else 0
    figs = "".join(figure_block(caption, path, f"chart-{i}") for i, (caption, path) in enumerate(figures))
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(info["name"])} — descentlab</title><style>{CSS}</style></head>
<body><main>
<p class="sub">descentlab report · experiment <code>{esc(experiment)}</code></p>
<h1>{esc(info["name"])}{esc(f" — control {control}" if control else "")}</h1>
<p class="sub">{esc(claim or info.get("description") or "")}</p>
{verdict_block(store.verdicts(experiment, control))}
{diverged_block(runs)}
<p class="facts">{len(runs)} runs · <span class="ndiv">{diverged} diverged</span> · {esc(info.get("steps"))} steps
 · device {esc(info.get("device"))} · compile {esc(_cell(info.get("compile_seconds")))} s
 · run {esc(_cell(info.get("run_seconds")))} s{esc(summed_over(info))} · status {esc(info.get("status"))}</p>
<nav class="sub"><a href="#figures">figures</a> · <a href="#runs">runs</a> · <a href="#provenance">provenance</a></nav>
{checks_block(checks)}
{controls_block(store, study, controls, control_experiments or {}, control) if study else ""}
<h2 id="figures">Figures</h2>{figs or "<p>No curves stored.</p>"}
<h2 id="runs">Runs</h2>{runs_table(runs)}
<h2 id="provenance">Provenance</h2>{provenance(info)}
</main>{chart_scripts(folder, store, figs)}<script>{SORT_JS}</script></body></html>
"""
    path = folder / "index.html"
    write_text_atomically(path, page)
    return path


def write_index(store: Store) -> Path:
    """``<store>/index.html``: every experiment with its status and verdicts, linking to its report."""
    rows = []
    for experiment in store.experiments():
        info = store.experiment_row(experiment)
        verdicts = store.verdicts(experiment)
        if verdicts.empty:
            verdict = "—"
        else:
            verdict = "; ".join(
                f"{'pass' if bool(v['passed']) else 'fail'} {_cell(v['figure'])}" for _, v in verdicts.iterrows()
            )
        report = store.report_dir(experiment) / "index.html"
        link = (
            f'<a href="{esc(experiment)}/report/index.html">{esc(info["name"])}</a>'
            if report.exists()
            else esc(info["name"])
        )
        rows.append(
            f"<tr><td class='l'>{link}</td><td class='l'><code>{esc(experiment)}</code></td>"
            f"<td>{esc(info.get('n_runs'))}</td><td>{esc(_cell(info.get('diverged')))}</td>"
            f"<td class='l'>{esc(info.get('status'))}</td><td class='l'>{esc(verdict)}</td>"
            f"<td class='l'>{esc(info.get('created_at'))}</td></tr>"
        )
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>descentlab store</title><style>{CSS}</style></head>
<body><main><h1>descentlab store</h1><p class="sub">{esc(store.root.resolve())}</p>
<table class="sortable"><thead><tr><th class="l">experiment</th><th class="l">hash</th><th>runs</th><th>diverged</th>
<th class="l">status</th><th class="l">verdict</th><th class="l">created</th></tr></thead>
<tbody>{"".join(rows)}</tbody></table></main><script>{SORT_JS}</script></body></html>
"""
    store.root.mkdir(parents=True, exist_ok=True)
    path = store.root / "index.html"
    write_text_atomically(path, page)
    return path
