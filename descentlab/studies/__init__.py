"""The study catalog: each module reproduces one published result (see :mod:`.base`)."""

from descentlab.discovery import import_submodules
from descentlab.studies.base import (
    STUDIES,
    Analysis,
    Check,
    Control,
    Study,
    StudyOptions,
    check_options,
    control_of,
    register_study,
    run_study,
)

import_submodules(__name__, __path__)

__all__ = [
    "STUDIES",
    "Analysis",
    "Check",
    "Control",
    "Study",
    "StudyOptions",
    "check_options",
    "control_of",
    "register_study",
    "run_study",
]
