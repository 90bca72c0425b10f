"""The Python face of a spec: ``Experiment(...).run()`` returns a :class:`Result` backed by the store.

>>> exp = Experiment(problem={"name": "least_squares", "dim": 200},
...                  optimizer={"name": "sgd", "learning_rate": {"logspace": [0.1, 1.0, 3]}},
...                  run={"steps": 1000, "seeds": 8})
>>> result = exp.run(store="runs")          # doctest: +SKIP
>>> result.curves.head()                     # doctest: +SKIP

Everything a :class:`Result` shows is read back from the store, never kept only in memory. In Jupyter a
:class:`Result` renders as its verdict lines, its learning curves and the head of its runs table (the
helpers below also render a study's outcome); every string from a spec or the store is escaped.

The sections may be written as component objects instead of dicts (:mod:`descentlab.engine.components`;
same spec, same content hash)::

    Experiment(problem=Problem("least_squares", dim=200),
               optimizer=Optimizer("sgd", learning_rate=logspace(0.1, 1.0, 3)),
               run=Run(steps=1000, seeds=8))
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from descentlab.engine.components import (
    Optimizer,
    Probe,
    Problem,
    Run,
    Sampler,
    Schedule,
    Theory,
    grid,
    linspace,
    logspace,
)
from descentlab.engine.load import load_spec, spec_from_dict
from descentlab.engine.plan import Plan
from descentlab.engine.runner import ProgressFn, RunSummary, execute
from descentlab.engine.spec import Spec, apply_overrides
from descentlab.store import Store
from descentlab.store.schema import OK, swept_axes

__all__ = [
    "Experiment",
    "Optimizer",
    "Probe",
    "Problem",
    "Result",
    "Run",
    "Sampler",
    "Schedule",
    "Theory",
    "grid",
    "linspace",
    "logspace",
]

HEAD_ROWS = 8
"""Rows of the runs table a notebook shows (the whole table is ``Result.runs``)."""
PASS_STYLE = "background:#e6f6ea;border:1px solid #7cc68e"
FAIL_STYLE = "background:#fdecea;border:1px solid #e08a80"
NONE_STYLE = "background:#eef1f5;border:1px solid #c9d0d9"
_BOX = "padding:6px 10px;border-radius:6px;margin:4px 0"
_CELL = "border:1px solid #e3e6ea;padding:2px 6px"


class Experiment:
    """A validated spec and its plan; keyword arguments are the spec's sections (see :mod:`descentlab.engine.spec`),
    each a dict or a component object (``problem=Problem("least_squares", dim=200)``)."""

    def __init__(self, spec: Spec | None = None, /, **sections: Any):
        self.spec = spec if spec is not None else spec_from_dict(sections)
        self.plan = Plan.from_spec(self.spec)

    @classmethod
    def from_toml(cls, path: str | Path, overrides: list[str] | None = None) -> Experiment:
        return cls(load_spec(path, overrides))

    def with_overrides(self, overrides: list[str]) -> Experiment:
        return Experiment(spec_from_dict(apply_overrides(self.spec.to_dict(), overrides)))

    @property
    def hash(self) -> str:
        return self.spec.content_hash()

    def run(
        self,
        store: Store | str | Path = "runs",
        force: bool = False,
        executor: Any = None,
        progress: ProgressFn | None = None,
    ) -> Result:
        """Run (or resume) every run, then judge the spec's ``[theory]`` section on what is stored."""
        from descentlab.analysis import check_theory

        store = store if isinstance(store, Store) else Store(store)
        summary = execute(self.plan, store, executor=executor, force=force, progress=progress)
        if summary.n_runs == sum(store.status_counts(summary.experiment).values()):
            check_theory(self.plan, store, summary.experiment)
        return Result(store, summary.experiment, summary)


class Result:
    """One stored experiment: its runs, curves and verdicts as pandas DataFrames."""

    def __init__(self, store: Store, experiment: str, summary: RunSummary | None = None):
        self.store = store
        self.experiment = experiment
        self.summary = summary

    @property
    def runs(self):
        return self.store.read(self.experiment, "runs")

    @property
    def curves(self):
        return self.store.read(self.experiment, "curves")

    @property
    def verdicts(self):
        return self.store.verdicts(self.experiment)

    @property
    def info(self) -> dict[str, Any]:
        return self.store.experiment_row(self.experiment)

    def plot(self, metric: str | None = None, curves: Any = None):
        """The learning-curve figure (matplotlib) of ``metric``.

        Args:
            metric: the stored metric to draw; by default the one the experiment's theory compares, else the first
                stored one that is not a minibatch metric (``batch_*``), else the first.
            curves: the experiment's curves when already read (``Result.curves``).

        Returns:
            A matplotlib figure: seed mean and 10–90 % band per swept value.
        """
        from descentlab.report.figures import learning_curves

        curves = self.curves if curves is None else curves
        metric = metric if metric is not None else self._default_metric(curves)
        return learning_curves(self.runs, curves, metric=metric, title=self.info["name"])

    def _default_metric(self, curves: Any) -> str | None:
        stored = sorted(str(m) for m in curves["metric"].unique()) if len(curves) else []
        theory = self.store.theory(self.experiment)
        if theory is not None and "metric" in theory and len(theory) and theory["metric"].iloc[0] in stored:
            return str(theory["metric"].iloc[0])
        return next((m for m in stored if not m.startswith("batch_")), stored[0] if stored else None)

    def report(self, out: str | Path | None = None) -> Path:
        from descentlab.report.html import write_report

        return write_report(self.store, self.experiment, out)

    def _repr_html_(self) -> str:
        """Jupyter's view: the experiment's name and size, its verdict lines (headline first), its learning
        curves (an embedded PNG) and the first :data:`HEAD_ROWS` rows of its runs table."""
        info = self.info
        runs = self.runs
        diverged = int((runs["status"] == "diverged").sum()) if len(runs) else 0
        head = (
            f"<b>{esc(info.get('name'))}</b> <code>{esc(self.experiment)}</code> — {len(runs)} runs "
            f"({diverged} diverged), status {esc(info.get('status'))}"
        )
        verdicts = self.verdicts
        if verdicts is not None and len(verdicts):
            if "headline" in verdicts:
                verdicts = verdicts.sort_values("headline", ascending=False, kind="stable")
            lines = verdicts_html(verdicts.to_dict("records"))
        else:
            lines = f'<div style="{NONE_STYLE};{_BOX}">No verdict: this experiment names no theory to check.</div>'
        curves = ""
        if len(runs) and (runs["status"] == OK).any():
            stored = self.curves
            metric = self._default_metric(stored)
            curves = png_html(figure_png(self.plot(metric, stored)), f"{metric} vs step: mean over seeds, band 10–90 %")
        return f'<div class="descentlab-result">{head}{lines}{curves}{runs_head_html(runs)}</div>'

    def __repr__(self) -> str:
        return f"Result(experiment={self.experiment!r}, store={str(self.store.root)!r})"


def esc(value: Any) -> str:
    """``value`` as escaped HTML text (``None`` as empty).

    Args:
        value: anything; its ``str``.

    Returns:
        The text with ``& < > " \'`` escaped.
    """
    return html.escape("" if value is None else str(value), quote=True)


def _number(value: Any, spec: str) -> str:
    try:
        return format(float(value), spec)
    except (TypeError, ValueError):
        return str(value)


def verdicts_html(verdicts: Iterable[Any]) -> str:
    """Verdict lines, one box each, styled pass (green) or fail (red), in the order given (headline first).

    Args:
        verdicts: :class:`~descentlab.theory.Verdict` objects or stored verdict rows (mappings with ``passed``,
            ``figure``, ``what``, ``tolerance`` and optionally ``check``).

    Returns:
        HTML, every string escaped; the first line is marked as the headline.
    """
    parts = []
    for i, verdict in enumerate(verdicts):
        row = verdict if isinstance(verdict, Mapping) else vars(verdict)
        passed = bool(row.get("passed"))
        check = row.get("check") or ""
        label = ("headline" if i == 0 else "") + (" · " if i == 0 and check else "") + check
        parts.append(
            f'<div class="descentlab-verdict {"pass" if passed else "fail"}" '
            f'style="{PASS_STYLE if passed else FAIL_STYLE};{_BOX}">'
            f"<b>{'✔ pass' if passed else '✘ fail'}</b> {esc(_number(row.get('figure'), '.4g'))}"
            f"{f' <small>[{esc(label)}]</small>' if label else ''}<br>"
            f"<small>{esc(row.get('what'))}, tolerance {esc(_number(row.get('tolerance'), 'g'))}</small></div>"
        )
    return "".join(parts)


def figure_png(fig: Any) -> bytes:
    """A matplotlib figure as PNG bytes (log axes with plain-text tick labels); the figure is closed.

    Args:
        fig: a figure of :mod:`descentlab.report.figures`.

    Returns:
        The PNG file's bytes.
    """
    import matplotlib.pyplot as plt

    from descentlab.report.figures import plain_log_ticks

    try:
        plain_log_ticks(fig)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", bbox_inches="tight", dpi=110)
        return buffer.getvalue()
    finally:
        plt.close(fig)


def png_html(png: bytes | str | Path, caption: str) -> str:
    """A PNG embedded as a base64 data URI (the notebook stays self-contained), with its caption.

    Args:
        png: the image's bytes, or the path of a PNG file.
        caption: the caption (escaped).

    Returns:
        An HTML ``<figure>``; a path that does not read gives a line saying so instead.
    """
    if not isinstance(png, bytes):
        try:
            png = Path(png).read_bytes()
        except OSError:
            return f"<p>{esc(caption)}: figure file {esc(png)} not readable</p>"
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<figure style="margin:8px 0"><img src="data:image/png;base64,{data}" alt="{esc(caption)}" '
        f'style="max-width:100%"><figcaption><small>{esc(caption)}</small></figcaption></figure>'
    )


def runs_head_html(runs: Any, rows: int = HEAD_ROWS) -> str:
    """The first ``rows`` runs: name, status, the swept axes and the final metrics.

    Args:
        runs: a runs table (``Result.runs``).
        rows: how many rows to show.

    Returns:
        An HTML table (every cell escaped) and a line saying how many runs there are.
    """
    if runs is None or not len(runs):
        return "<p>No runs stored.</p>"
    finals = [c for c in runs.columns if str(c).startswith("final_")]
    cols = [c for c in dict.fromkeys(["name", "status", *swept_axes(runs), *finals]) if c in runs.columns]
    head = "".join(f'<th style="{_CELL}">{esc(c)}</th>' for c in cols)
    body = "".join(
        "<tr>" + "".join(f'<td style="{_CELL}">{esc(_cell(row[c]))}</td>' for c in cols) + "</tr>"
        for _, row in runs.head(rows).iterrows()
    )
    more = f"first {min(rows, len(runs))} of {len(runs)} runs" if len(runs) > rows else f"{len(runs)} runs"
    return (
        f'<div style="overflow-x:auto"><table style="border-collapse:collapse;font-size:.85em"><thead><tr>{head}'
        f"</tr></thead><tbody>{body}</tbody></table></div><small>{esc(more)}</small>"
    )


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "" if value != value else f"{value:.6g}"
    if value is None:
        return ""
    try:
        import pandas as pd

        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return str(value)
