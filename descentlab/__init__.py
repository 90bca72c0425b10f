"""descentlab — a laboratory for gradient-based learning dynamics.

Write a spec (TOML or :class:`Experiment`), and the whole sweep (seeds × hyperparameters) runs as
one vmapped, scanned JAX program per static group, lands in a Parquet + DuckDB store, and comes
back with theory overlays, verdicts and a report.
"""

from descentlab import host_devices

host_devices.configure()  # one JAX device per core on a CPU, before anything initializes JAX's backends

from descentlab.engine.spec import Spec, load_spec, spec_from_dict  # noqa: E402
from descentlab.experiment import Experiment, Result  # noqa: E402
from descentlab.params import SpecError  # noqa: E402
from descentlab.store import Store  # noqa: E402

__version__ = "0.1.0"

__all__ = ["Experiment", "Result", "Spec", "SpecError", "Store", "load_spec", "spec_from_dict"]
