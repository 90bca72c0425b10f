"""Measurements taken at checkpoints inside the compiled program (see :mod:`.base`).

Every module of this package is imported on first use, so its ``@register_probe`` runs.
"""

from descentlab.discovery import import_submodules
from descentlab.probes.base import PROBES, FunctionProbe, Probe, ProbeContext, register_probe

import_submodules(__name__, __path__)

__all__ = ["PROBES", "FunctionProbe", "Probe", "ProbeContext", "register_probe"]
