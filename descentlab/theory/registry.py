"""Prediction registry: what the literature predicts, by name, on a given step grid.

A :class:`PredictionEntry` declares its parameters with :class:`~descentlab.params.Param` (so
the CLI can validate ``descentlab predict NAME --param value`` and the spec's ``[theory]``
section the same way it validates problems) and a function

``predict(steps: np.ndarray, **params) -> dict[str, np.ndarray]``

returning curves on exactly the given step grid (``steps`` = number of updates taken, 0 = the
initial point), e.g. ``{"risk": ...}``. The first key is the main curve.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from descentlab.params import Param, check_params, fill_defaults
from descentlab.registry import Registry

PredictFn = Callable[..., dict[str, np.ndarray]]


@dataclasses.dataclass(frozen=True)
class PredictionEntry:
    """One named prediction.

    Attributes:
      name: registry key (``[theory] predict = NAME``).
      fn: ``fn(steps, **params) -> {curve name: values on steps}``.
      params: declared parameters (validated by :meth:`validate`).
      summary: one line for ``descentlab list predictions``.
      reference: the paper(s) the prediction comes from.
      kind: ``"exact"`` (equals the expectation), ``"limit"`` (a deterministic equivalent,
        exact as d → ∞) or ``"bound"`` (an upper bound the measurement must stay under).
      problem: the problem name whose conventions the parameters follow (``""`` if none).
      metrics: curve name → the engine metric it is compared with (e.g. ``{"risk": "population_risk"}``);
        a ``bound`` curve is compared with ``verdict(kind="bound")``, the others with ``kind="curve"``.
    """

    name: str
    fn: PredictFn
    params: dict[str, Param]
    summary: str
    reference: str
    kind: str = "limit"
    problem: str = ""
    metrics: dict[str, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in ("exact", "limit", "bound"):
            raise ValueError(f"prediction {self.name!r}: kind must be exact, limit or bound, got {self.kind!r}")
        object.__setattr__(self, "metrics", dict(self.metrics))  # its own copy of a shared table

    def validate(self, given: Mapping[str, Any], section: str = "theory") -> dict[str, Any]:
        """Given values checked, coerced and completed with defaults."""
        check_params(section, self.params, given, self.name)
        values = fill_defaults(self.params, given)
        return {k: self.params[k].coerce(f"{section}.{k}", v) for k, v in values.items()}

    def predict(self, steps: Any, **params: Any) -> dict[str, np.ndarray]:
        """Curves on ``steps`` (validated parameters, defaults filled in)."""
        values = self.validate(params)
        grid = np.asarray(steps)
        if grid.ndim != 1 or grid.size == 0 or np.any(grid < 0) or np.any(np.diff(grid) < 0):
            raise ValueError("steps must be a non-empty, non-decreasing 1-D array of step counts >= 0")
        if not np.all(np.equal(np.mod(grid, 1), 0)):
            raise ValueError("steps must be whole numbers of updates")
        out = self.fn(grid.astype(np.int64), **values)
        return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}


PREDICTIONS: Registry[PredictionEntry] = Registry("prediction", PredictionEntry, context=("steps",))


def register_prediction(
    name: str, params: Mapping[str, Param], summary: str, reference: str, **fields: Any
) -> Callable[[PredictFn], PredictFn]:
    """``PREDICTIONS.register`` with the table, summary and reference positional:
    ``@register_prediction("sgd_least_squares", {...}, "...", "...", kind=..., problem=..., metrics=...)`` on
    ``fn(steps, **params)``. The table is explicit (a prediction takes ``**params``, composed from the problems'
    and schedules' tables); a parameter ``fn`` names in its signature must agree with it."""
    return PREDICTIONS.register(name, params=params, summary=summary, reference=reference, **fields)
