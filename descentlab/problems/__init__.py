"""Objectives with their data and known constants (see :mod:`descentlab.problems.base`).

Every module of this package is imported on first use, so its ``@register_problem`` runs.
"""

from descentlab.discovery import import_submodules
from descentlab.problems.base import Problem, hyper, static
from descentlab.problems.registry import PROBLEMS, register_problem

import_submodules(__name__, __path__)

__all__ = ["PROBLEMS", "Problem", "hyper", "register_problem", "static"]
