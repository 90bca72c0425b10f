"""Spec → plan → one compiled program per static group → chunks → store."""

from descentlab.engine.load import load_spec, spec_from_dict
from descentlab.engine.plan import Plan
from descentlab.engine.runner import RunSummary, execute, run_spec
from descentlab.engine.spec import Spec, checkpoint_steps

__all__ = ["Plan", "RunSummary", "Spec", "checkpoint_steps", "execute", "load_spec", "run_spec", "spec_from_dict"]
