"""Theory next to experiment: predictions on the experiment's step grid, rate fitting, verdicts.

Every module of this package is imported on first use, so its ``@register_prediction`` runs.
``PREDICTIONS.get(name).predict(steps, **params)`` gives ``{curve name: values on steps}``;
:func:`verdict` compares a measurement with a prediction and states the tolerance.
"""

from descentlab.discovery import import_submodules
from descentlab.theory.fitting import Fit, fit_linear_rate, fit_power_law, time_to_threshold
from descentlab.theory.registry import PREDICTIONS, PredictionEntry, register_prediction
from descentlab.theory.verdict import Verdict, verdict

import_submodules(__name__, __path__)

__all__ = [
    "PREDICTIONS",
    "Fit",
    "PredictionEntry",
    "Verdict",
    "fit_linear_rate",
    "fit_power_law",
    "register_prediction",
    "time_to_threshold",
    "verdict",
]
