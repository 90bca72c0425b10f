"""descentlab — a laboratory for gradient-based learning dynamics.

Write a spec (TOML or :class:`Experiment`), and the whole sweep (seeds × hyperparameters) runs as
one vmapped, scanned JAX program per static group, lands in a Parquet + DuckDB store, and comes
back with theory overlays, verdicts and a report.
"""

from descentlab.engine.spec import Spec, load_spec, spec_from_dict
from descentlab.experiment import Experiment, Result
from descentlab.params import SpecError
from descentlab.store import Store

__version__ = "0.1.0"

__all__ = ["Experiment", "Result", "Spec", "SpecError", "Store", "load_spec", "spec_from_dict"]
