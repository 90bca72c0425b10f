"""A spec's ``[theory]`` section: compute the named prediction next to the runs and give a verdict.

.. code-block:: toml

    [theory]
    predict = "sgd_least_squares_ode"   # any name of `descentlab list predictions`
    metric = "population_risk"          # the stored metric to compare (default: the first the prediction names)
    curve = "risk"                      # which predicted curve (default: the first one)
    kind = "curve"                      # curve | bound | standard_error (see descentlab.theory.verdict)
    tolerance = 0.05                    # default: the verdict kind's own
    ode_resolution = 0.002              # any other key is a parameter of the prediction

For every combination of swept values, the prediction's parameters are read from the stored runs
(problem fields, optimizer and schedule values, ``batch_size``, ``total_steps`` = ``run.steps``),
so the theory sees exactly what ran; the seed mean of ``metric`` over non-diverged runs is compared
with the predicted curve on the checkpoint grid. Predicted curves go to ``theory.parquet`` (for
the report's overlays) and the verdict to the ``verdicts`` table.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from descentlab.engine.plan import Plan
from descentlab.engine.spec import Spec
from descentlab.params import FLOAT_LIMIT, SpecError
from descentlab.store import Store
from descentlab.store.store import write_table_atomically

THEORY = "theory.parquet"
OWN_KEYS = {"predict", "metric", "curve", "kind", "tolerance"}
CURVE_TO_METRIC = {"risk": "population_risk"}
RESERVED = {"experiment", "run", "name", "group", "seed", "status", "divergence_step"}


def theory_options(spec: Spec) -> dict[str, Any]:
    return dict(spec.theory.model_extra or {}) if spec.theory is not None else {}


def validate_theory(spec: Spec, the_plan: Plan | None = None) -> None:
    """Check the section's own keys and the prediction's parameters and, given the spec's plan, that the curve
    exists and the metric it is compared with is recorded — before anything runs (raises SpecError)."""
    from descentlab.theory import PREDICTIONS

    entry = PREDICTIONS.get(spec.theory.predict, "theory.predict")
    options = theory_options(spec)
    kind = options.get("kind", "curve")
    if kind not in ("curve", "bound", "standard_error"):
        raise SpecError("theory.kind", kind, "allowed: 'curve', 'bound', 'standard_error'")
    tolerance = options.get("tolerance")
    if tolerance is not None and (isinstance(tolerance, bool) or not isinstance(tolerance, (int, float))
                                  or not 0 <= tolerance <= FLOAT_LIMIT):
        raise SpecError("theory.tolerance", tolerance, f"expected a finite number >= 0 and <= {FLOAT_LIMIT:g}")
    for key in ("curve", "metric"):
        if key in options and not isinstance(options[key], str):
            raise SpecError(f"theory.{key}", options[key], "expected a string")
    overrides = {k: v for k, v in options.items() if k not in OWN_KEYS}
    entry.validate(overrides, "theory")
    if the_plan is not None:
        _validate_curve_and_metric(spec, the_plan, entry, options, overrides)


def _validate_curve_and_metric(spec: Spec, the_plan: Plan, entry, options: dict[str, Any],
                               overrides: dict[str, Any]) -> None:
    """The named curve is one the prediction returns (asked on the first group's values, at steps 0 and 1) and the
    compared metric is one the probes record."""
    from descentlab.engine.program import recorded_metrics

    group = the_plan.groups[0]
    row = pd.Series({f"{section}_{field}": value for section, values in group.config.items()
                     for field, value in values.items()} | {"run_batch_size": group.batch_size})
    predicted = entry.predict(np.arange(2), **_params_for(entry, row, spec, overrides))
    curve = options.get("curve") or next(iter(predicted))
    if curve not in predicted:
        raise SpecError("theory.curve", curve, "allowed: " + ", ".join(predicted))
    metric = options.get("metric") or {**CURVE_TO_METRIC, **entry.metrics}.get(curve, curve)
    recorded = recorded_metrics(spec, the_plan)
    if metric not in recorded:
        raise SpecError("theory.metric", metric, "a metric the probes record; allowed: " + ", ".join(sorted(recorded)))


def _params_for(entry, row: pd.Series, spec: Spec, overrides: dict[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name in entry.params:
        for column in (f"problem_{name}", f"optimizer_{name}", f"schedule_{name}"):
            if column in row.index and not pd.isna(row[column]):
                value = row[column]
                params[name] = value.item() if hasattr(value, "item") else value
                break
    if "batch_size" in entry.params:
        params["batch_size"] = int(row["run_batch_size"])
    if "schedule" in entry.params:
        params["schedule"] = row["schedule_name"]
    if "total_steps" in entry.params:
        params["total_steps"] = spec.run.steps
    params.update(overrides)
    return params


def check_theory(spec: Spec, store: Store, experiment: str, checkpoints: np.ndarray) -> list[dict[str, Any]]:
    """Predict, compare, store; returns the verdict rows written."""
    from descentlab.report.figures import swept_axes
    from descentlab.theory import PREDICTIONS, verdict

    entry = PREDICTIONS.get(spec.theory.predict, "theory.predict")
    options = theory_options(spec)
    overrides = {k: v for k, v in options.items() if k not in OWN_KEYS}
    runs, curves = store.read(experiment, "runs"), store.read(experiment, "curves")
    axes = [a for a in swept_axes(runs) if a not in RESERVED]
    groups = runs.groupby(axes, dropna=False, sort=True) if axes else [((), runs)]
    measured_all, predicted_all, stderr_all, frames = [], [], [], []
    curve_name = options.get("curve")
    metric = options.get("metric")
    for key, members in groups:
        key = key if isinstance(key, tuple) else (key,)
        params = _params_for(entry, members.iloc[0], spec, overrides)
        predicted = entry.predict(checkpoints, **params)
        curve_name = curve_name or next(iter(predicted))
        if curve_name not in predicted:
            raise SpecError("theory.curve", curve_name, "allowed: " + ", ".join(predicted))
        metric = metric or {**CURVE_TO_METRIC, **entry.metrics}.get(curve_name, curve_name)
        ok = members[members.status == "ok"]["run"]
        data = curves[(curves.metric == metric) & curves.run.isin(ok)]
        if data.empty:
            continue
        by_step = data.groupby("step")["value"]
        mean = by_step.mean().reindex(checkpoints)
        stderr = (by_step.std() / np.sqrt(by_step.count())).reindex(checkpoints)
        keep = mean.notna().to_numpy().copy()
        if options.get("kind") == "standard_error":
            keep &= stderr.fillna(0.0).to_numpy() > 0  # points with no spread across seeds (step 0) say nothing
        measured_all.append(mean.to_numpy()[keep])
        stderr_all.append(stderr.fillna(0.0).to_numpy()[keep])
        predicted_all.append(predicted[curve_name][keep])
        frame = pd.DataFrame({"step": checkpoints, "value": predicted[curve_name]})
        for column, value in zip(axes, key, strict=True):
            frame[column] = value
        frames.append(frame)
    if not frames:
        return []
    table = pd.concat(frames, ignore_index=True)
    table.insert(0, "experiment", experiment)
    table["prediction"] = entry.name
    table["curve"] = curve_name
    write_table_atomically(pa.Table.from_pandas(table, preserve_index=False),
                           store.experiment_dir(experiment) / THEORY)
    kind = options.get("kind", "bound" if entry.kind == "bound" else "curve")
    result = verdict(np.concatenate(measured_all), np.concatenate(predicted_all), kind=kind,
                     tolerance=options.get("tolerance"), stderr=np.concatenate(stderr_all))
    rows = [{"study": "", "claim": f"{metric} follows {entry.name} ({entry.summary})", "passed": bool(result.passed),
             "figure": float(result.figure), "what": result.what, "tolerance": float(result.tolerance),
             "line": result.line()}]
    store.write_verdicts(experiment, rows)
    return rows


def stored_theory(store: Store, experiment: str) -> pd.DataFrame | None:
    path = store.experiment_dir(experiment) / THEORY
    return pd.read_parquet(path) if path.exists() else None
