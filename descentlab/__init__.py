"""descentlab — a laboratory for gradient-based learning dynamics.

Write a spec (TOML or :class:`Experiment`), and the whole sweep (seeds × hyperparameters) runs as
one vmapped, scanned JAX program per static group, lands in a Parquet + DuckDB store, and comes
back with theory overlays, verdicts and a report.

The names below are imported on first use: importing a leaf package (``descentlab.optim``,
``descentlab.problems``, ``descentlab.theory``) loads no engine, store or report module.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from descentlab import host_devices

host_devices.configure()  # one JAX device per core on a CPU, before anything initializes JAX's backends

if TYPE_CHECKING:
    from descentlab.engine.components import (
        Optimizer,
        Probe,
        Problem,
        Run,
        Sampler,
        Schedule,
        Theory,
        grid,
        linspace,
        logspace,
    )
    from descentlab.engine.load import load_spec, spec_from_dict
    from descentlab.engine.spec import Spec
    from descentlab.experiment import Experiment, Result
    from descentlab.params import SpecError
    from descentlab.store import Store

__version__ = "0.1.0"

_HOME = {
    "Experiment": "descentlab.experiment",
    "Result": "descentlab.experiment",
    "Spec": "descentlab.engine.spec",
    "SpecError": "descentlab.params",
    "Store": "descentlab.store",
    "load_spec": "descentlab.engine.load",
    "spec_from_dict": "descentlab.engine.load",
    **dict.fromkeys(
        ("Optimizer", "Probe", "Problem", "Run", "Sampler", "Schedule", "Theory", "grid", "linspace", "logspace"),
        "descentlab.engine.components",
    ),
}

__all__ = [
    "Experiment",
    "Optimizer",
    "Probe",
    "Problem",
    "Result",
    "Run",
    "Sampler",
    "Schedule",
    "Spec",
    "SpecError",
    "Store",
    "Theory",
    "grid",
    "linspace",
    "load_spec",
    "logspace",
    "spec_from_dict",
]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'descentlab' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOME[name]), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOME])
