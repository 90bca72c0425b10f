"""The store's tables as columns: where a spec value lives, which columns are the engine's, what an axis is.

A spec addresses a value as ``section.field`` (``optimizer.learning_rate``); the ``runs`` table stores it in
the column ``section_field`` (``optimizer_learning_rate``), one row per run. Besides those, a row has the
engine's **reserved** columns (:data:`RESERVED`), its **timing** column ``seconds_per_step`` (:data:`TIMING`)
and one ``final_<metric>`` column per recorded metric (its value at the last checkpoint). The ``curves`` table is
long: ``(experiment, run, step, metric, value)``.
The ``theory`` table holds predicted curves ``(experiment, step, value, prediction, curve, <swept axes>)``
and ``verdicts`` one row per judged claim.

Everything that reads the tables back (analysis, studies, report, CLI) learns the layout here, never by
re-spelling prefixes: :func:`column` / :func:`path_of`, :func:`section_values`, :func:`swept_axes`,
:func:`ok_runs`, :func:`run_key`, :func:`results_only` (a ``runs`` table without its timing) and :func:`seed_mean`
(the mean over seeds of the runs that did not diverge, across one experiment or several).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

SECTIONS = ("problem", "optimizer", "schedule", "sampler", "run", "computation")
"""Spec sections whose values are stored as ``section_field`` columns (``computation``: the parameters of a
study's own computation, :mod:`descentlab.engine.computation`)."""
RESERVED = ("experiment", "run", "name", "group", "seed", "status", "divergence_step")
"""Columns of ``runs`` the engine writes for every run: its identity, its seed, its fate."""
SECONDS_PER_STEP = "seconds_per_step"
"""Column of ``runs``: the wall-clock seconds per step of the chunk that computed the run — the chunk's execution
time (its vmap blocks, on every device the chunk was sharded over, compilation excluded) divided by ``run.steps``.
The runs of a chunk are computed together, so they share one value: it is the time per step of their block, not of
one run alone. Times of two experiments (or two groups) compare fairly when their chunks hold as many runs (same
``run.vmap_width`` and chunk size) on the same machine; the first chunk a process computes also carries its
first-call costs. ``step × seconds_per_step`` is the wall-clock axis of
:func:`descentlab.report.figures.learning_curves` (``x="wall_clock"``). Absent from runs stored before it existed
and from computations (:mod:`descentlab.engine.computation`)."""
TIMING = (SECONDS_PER_STEP,)
"""Columns of ``runs`` that measure the machine, not the run: two computations of the same runs are bit-identical
in every other column (compare them with :func:`results_only`), and these are never swept axes."""
OK, DIVERGED = "ok", "diverged"
"""Values of ``runs.status``."""
FINAL = "final_"
"""Prefix of the columns holding a metric's value at the last checkpoint."""


def column(path: str) -> str:
    """The ``runs`` column of a spec path: ``optimizer.learning_rate`` → ``optimizer_learning_rate``."""
    section, _, field = path.partition(".")
    if section not in SECTIONS or not field:
        raise ValueError(f"not a spec path: {path!r} (expected section.field, section in {', '.join(SECTIONS)})")
    return f"{section}_{field}"


def path_of(name: str) -> str | None:
    """The spec path of a ``runs`` column (``problem_dim`` → ``problem.dim``); None for reserved and final columns."""
    section, _, field = name.partition("_")
    return f"{section}.{field}" if section in SECTIONS and field else None


def final_column(metric: str) -> str:
    """The ``runs`` column holding ``metric`` at the last checkpoint."""
    return FINAL + metric


def final_metrics(runs: pd.DataFrame) -> list[str]:
    """The metrics that have a ``final_`` column in ``runs``."""
    return [c.removeprefix(FINAL) for c in runs.columns if c.startswith(FINAL)]


def section_values(row: pd.Series, section: str) -> dict[str, Any]:
    """A run's values of one section as ``{field: value}`` (``name`` left out, missing values dropped, NumPy
    scalars as Python numbers) — the keyword arguments of a prediction or a component."""
    prefix = section + "_"
    out = {}
    for key, value in row.items():
        if not isinstance(key, str) or not key.startswith(prefix) or key == prefix + "name":
            continue
        if value is None or (np.isscalar(value) and pd.isna(value)):
            continue
        out[key.removeprefix(prefix)] = value.item() if hasattr(value, "item") else value
    return out


def _varies(values: pd.Series) -> bool:
    """Whether ``values`` holds more than one distinct value (unhashable values are compared as text)."""
    try:
        return values.nunique(dropna=False) > 1
    except TypeError:
        return values.astype(str).nunique(dropna=False) > 1


def swept_axes(runs: pd.DataFrame) -> list[str]:
    """Columns of ``runs`` that vary across runs: the swept hyperparameters (not seeds, statuses or finals)."""
    engine = (*RESERVED, *TIMING)
    return [c for c in runs.columns if c not in engine and not c.startswith(FINAL) and _varies(runs[c])]


def results_only(runs: pd.DataFrame) -> pd.DataFrame:
    """``runs`` without its :data:`TIMING` columns: what two computations of the same runs agree on bit for bit.

    Args:
        runs: a ``runs`` table (with or without timing columns).

    Returns:
        The same rows, every column but the timing ones.
    """
    return runs.drop(columns=[c for c in TIMING if c in runs.columns])


def ok_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs that did not diverge."""
    return runs[runs["status"] == OK]


def run_key(runs: pd.DataFrame, curves: pd.DataFrame) -> list[str]:
    """The columns naming a run in both tables: ``["experiment", "run"]`` when they hold several experiments'
    runs, ``["run"]`` otherwise (a run number is unique only within its experiment)."""
    several = "experiment" in runs and "experiment" in curves and runs["experiment"].nunique() > 1
    return ["experiment", "run"] if several else ["run"]


def seed_mean(runs: pd.DataFrame, curves: pd.DataFrame, metric: str, by: Sequence[str] = ()) -> pd.DataFrame:
    r"""Mean of ``metric`` over the seeds of the runs that did not diverge, per ``by`` and step.

    For the runs :math:`r` of one combination of ``by`` that stayed finite, at each checkpoint :math:`t`:
    :math:`\bar m_t = \frac1{n_t}\sum_r m_{r,t}`, :math:`s_t` the sample standard deviation and the standard
    error :math:`s_t/\sqrt{n_t}` (NaN with one seed).

    Runs of several experiments (``runs`` and ``curves`` concatenated across them) are told apart by
    ``(experiment, run)``: a run number is unique only within its experiment.

    Args:
        runs: the ``runs`` table (``run``, ``status`` and the ``by`` columns; ``experiment`` when several).
        curves: the ``curves`` table (``run``, ``step``, ``metric``, ``value``; ``experiment`` when several).
        metric: the metric to average.
        by: ``runs`` columns to keep apart (a swept axis, a label).

    Returns:
        One row per (``by``…, ``step``) with ``mean``, ``std``, ``count`` and ``stderr``.
    """
    by = list(by)
    ids = run_key(runs, curves)
    keep = ok_runs(runs)[[*ids, *(c for c in by if c not in ids)]]
    data = curves.loc[curves["metric"] == metric, [*ids, "step", "value"]].merge(keep, on=ids)
    out = data.groupby([*by, "step"], dropna=False)["value"].agg(["mean", "std", "count"]).reset_index()
    out["stderr"] = out["std"] / np.sqrt(out["count"])
    return out
