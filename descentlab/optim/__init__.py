"""Optimizers (optax ``GradientTransformation``s) and learning-rate schedules, by name.

Every module of this package is imported on first use, so its registrations run.
"""

from descentlab.discovery import import_submodules
from descentlab.optim.registry import OPTIMIZERS, OptimizerEntry, register_optax, register_optimizer
from descentlab.optim.schedules import SCHEDULES, ScheduleEntry, register_schedule

import_submodules(__name__, __path__)

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "OptimizerEntry",
    "ScheduleEntry",
    "register_optax",
    "register_optimizer",
    "register_schedule",
]
