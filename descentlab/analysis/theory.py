"""A spec's ``[theory]`` section judged: predicted curves next to the seed means of the stored runs.

For every combination of swept values, the prediction's parameters are read from the stored runs
(:func:`~descentlab.engine.theory_spec.prediction_params`), the seed mean of the compared metric over the
runs that did not diverge (:func:`~descentlab.store.schema.seed_mean`) is compared with the predicted curve
on the checkpoint grid (:func:`descentlab.theory.verdict`), the predicted curves go to the store's
``theory`` table (the report's overlays) and the verdict to its ``verdicts`` table.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from descentlab.analysis.verdicts import verdict_rows
from descentlab.engine.plan import Plan
from descentlab.engine.theory_spec import compared_curve_and_metric, prediction_params, theory_options
from descentlab.store import Store
from descentlab.store.schema import seed_mean, swept_axes


def check_theory(the_plan: Plan, store: Store, experiment: str) -> list[dict[str, Any]]:
    """Predict, compare and store the plan's ``[theory]`` section for ``experiment``; returns the verdict rows
    written ([] when the spec has no section or no run stayed finite)."""
    from descentlab.theory import PREDICTIONS, verdict

    spec = the_plan.spec
    if spec.theory is None:
        return []
    entry = PREDICTIONS.get(spec.theory.predict, "theory.predict")
    options = theory_options(spec)
    checkpoints = the_plan.checkpoints
    runs, curves = store.read(experiment, "runs"), store.read(experiment, "curves")
    axes = swept_axes(runs)
    groups = runs.groupby(axes, dropna=False, sort=True) if axes else [((), runs)]
    standard_error = options.get("kind") == "standard_error"
    measured, predicted_all, stderrs, frames = [], [], [], []
    curve = metric = None
    for key, members in groups:
        key = key if isinstance(key, tuple) else (key,)
        predicted = entry.predict(checkpoints, **prediction_params(entry, members.iloc[0].to_dict(), spec))
        curve, metric = compared_curve_and_metric(spec, list(predicted))
        means = seed_mean(members, curves, metric).set_index("step").reindex(checkpoints)
        if means["mean"].isna().all():
            continue
        stderr = means["stderr"].fillna(0.0).to_numpy()
        keep = means["mean"].notna().to_numpy(copy=True)
        if standard_error:
            keep &= stderr > 0  # points with no spread across seeds (step 0) say nothing
        measured.append(means["mean"].to_numpy()[keep])
        stderrs.append(stderr[keep])
        predicted_all.append(predicted[curve][keep])
        frame = pd.DataFrame({"step": checkpoints, "value": predicted[curve]})
        for column, value in zip(axes, key, strict=True):
            frame[column] = value
        frames.append(frame)
    if not frames:
        return []
    table = pd.concat(frames, ignore_index=True)
    table.insert(0, "experiment", experiment)
    table["prediction"] = entry.name
    table["curve"] = curve
    table["metric"] = metric
    store.write_theory(experiment, pa.Table.from_pandas(table, preserve_index=False))
    kind = options.get("kind", "bound" if entry.kind == "bound" else "curve")
    result = verdict(
        np.concatenate(measured),
        np.concatenate(predicted_all),
        kind=kind,
        tolerance=options.get("tolerance"),
        stderr=np.concatenate(stderrs),
    )
    rows = verdict_rows([result], f"{metric} follows {entry.name} ({entry.summary})")
    store.write_verdicts(experiment, rows)
    return rows
