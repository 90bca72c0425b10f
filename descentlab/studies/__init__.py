"""The study catalog: each module reproduces one published result (see :mod:`.base`)."""

from descentlab.discovery import import_submodules
from descentlab.engine.computation import Computation, Measurement
from descentlab.studies.base import (
    STUDIES,
    Analysis,
    Check,
    Control,
    Study,
    StudyOptions,
    check_options,
    computation_from_record,
    control_of,
    register_study,
    run_study,
)

import_submodules(__name__, __path__)

__all__ = [
    "STUDIES",
    "Analysis",
    "Check",
    "Computation",
    "Control",
    "Measurement",
    "Study",
    "StudyOptions",
    "check_options",
    "computation_from_record",
    "control_of",
    "register_study",
    "run_study",
]
