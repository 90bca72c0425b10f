"""Spec → plan → one compiled program per static group → chunks → store."""

from descentlab.engine.plan import Plan, checkpoint_steps, plan
from descentlab.engine.runner import RunSummary, run_spec
from descentlab.engine.spec import Spec, load_spec, spec_from_dict

__all__ = ["Plan", "RunSummary", "Spec", "checkpoint_steps", "load_spec", "plan", "run_spec", "spec_from_dict"]
