"""A spec's ``[theory]`` section: which prediction to compare the runs with, validated with the plan.

.. code-block:: toml

    [theory]
    predict = "sgd_least_squares_ode"   # any name of `descentlab list predictions`
    metric = "population_risk"          # the stored metric to compare (default: the first the prediction names)
    curve = "risk"                      # which predicted curve (default: the first one)
    kind = "curve"                      # curve | bound | standard_error (see descentlab.theory.verdict)
    tolerance = 0.05                    # default: the verdict kind's own
    ode_resolution = 0.002              # any other key is a parameter of the prediction

The prediction's parameters are read from each run's stored values (:func:`prediction_params`: problem
fields, optimizer and schedule values, ``batch_size``, ``total_steps`` = ``run.steps``), so the theory
sees exactly what ran. The comparison itself — seed means against the predicted curves, the ``theory``
table and the verdict — is :func:`descentlab.analysis.theory.check_theory`, run after the engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from descentlab.engine.spec import Spec
from descentlab.params import FLOAT_LIMIT, SpecError
from descentlab.store.schema import column

if TYPE_CHECKING:
    from descentlab.engine.plan import Plan

OWN_KEYS = {"predict", "metric", "curve", "kind", "tolerance"}
CURVE_TO_METRIC = {"risk": "population_risk"}
KINDS = ("curve", "bound", "standard_error")


def theory_options(spec: Spec) -> dict[str, Any]:
    """The section's keys other than ``predict`` (its own and the prediction's parameters)."""
    return dict(spec.theory.model_extra or {}) if spec.theory is not None else {}


def prediction_overrides(spec: Spec) -> dict[str, Any]:
    """The prediction's parameters the section sets itself (every key that is not one of the section's own)."""
    return {k: v for k, v in theory_options(spec).items() if k not in OWN_KEYS}


def prediction_params(entry, values: Mapping[str, Any], spec: Spec) -> dict[str, Any]:
    """The parameters of prediction ``entry`` for one run: its stored ``values`` (``runs`` columns:
    ``problem_*``, ``optimizer_*``, ``schedule_*``, ``run_batch_size``, ``schedule_name``), the spec's
    ``run.steps`` as ``total_steps``, and the section's own overrides last."""
    params: dict[str, Any] = {}
    for name in entry.params:
        for section in ("problem", "optimizer", "schedule"):
            value = values.get(column(f"{section}.{name}"))
            if value is not None and not (np.isscalar(value) and value != value):  # missing or NaN: not set
                params[name] = value.item() if hasattr(value, "item") else value
                break
    if "batch_size" in entry.params:
        params["batch_size"] = int(values[column("run.batch_size")])
    if "schedule" in entry.params:
        params["schedule"] = values[column("schedule.name")]
    if "total_steps" in entry.params:
        params["total_steps"] = spec.run.steps
    params.update(prediction_overrides(spec))
    return params


def validate_theory_section(spec: Spec) -> None:
    """The section's own keys and the prediction's parameters (raises SpecError)."""
    from descentlab.theory import PREDICTIONS

    entry = PREDICTIONS.get(spec.theory.predict, "theory.predict")
    options = theory_options(spec)
    kind = options.get("kind", "curve")
    if kind not in KINDS:
        raise SpecError("theory.kind", kind, "allowed: " + ", ".join(f"'{k}'" for k in KINDS))
    tolerance = options.get("tolerance")
    if tolerance is not None and (
        isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not 0 <= tolerance <= FLOAT_LIMIT
    ):
        raise SpecError("theory.tolerance", tolerance, f"expected a finite number >= 0 and <= {FLOAT_LIMIT:g}")
    for key in ("curve", "metric"):
        if key in options and not isinstance(options[key], str):
            raise SpecError(f"theory.{key}", options[key], "expected a string")
    entry.validate(prediction_overrides(spec), "theory")


def compared_curve_and_metric(spec: Spec, predicted_curves: list[str]) -> tuple[str, str]:
    """(curve, metric): the predicted curve the section names (default: the first one) and the stored metric it
    is compared with (default: the metric the prediction names for it)."""
    from descentlab.theory import PREDICTIONS

    entry = PREDICTIONS.get(spec.theory.predict, "theory.predict")
    options = theory_options(spec)
    curve = options.get("curve") or predicted_curves[0]
    if curve not in predicted_curves:
        raise SpecError("theory.curve", curve, "allowed: " + ", ".join(predicted_curves))
    return curve, options.get("metric") or {**CURVE_TO_METRIC, **entry.metrics}.get(curve, curve)


def validate_theory(spec: Spec, the_plan: Plan) -> None:
    """The named curve is one the prediction returns (asked on the first group's values, at steps 0 and 1) and the
    compared metric is one the probes record (``the_plan.metrics``)."""
    from descentlab.theory import PREDICTIONS

    entry = PREDICTIONS.get(spec.theory.predict, "theory.predict")
    group = the_plan.groups[0]
    values = {
        column(f"{section}.{field}"): value
        for section, fields in group.config.items()
        for field, value in fields.items()
    } | {column("run.batch_size"): group.batch_size}
    predicted = entry.predict(np.arange(2), **prediction_params(entry, values, spec))
    _, metric = compared_curve_and_metric(spec, list(predicted))
    if metric not in the_plan.metrics:
        raise SpecError(
            "theory.metric", metric, "a metric the probes record; allowed: " + ", ".join(sorted(the_plan.metrics))
        )
