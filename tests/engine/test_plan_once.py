"""One plan per spec, one program per group: ``descentlab run`` validates, sizes, runs, judges and reports a spec
with a single expansion of its sweep and builds each static group's program once (validation's traced run
included)."""

from __future__ import annotations

from typer.testing import CliRunner

from descentlab.cli import app
from descentlab.engine import plan as plan_module
from descentlab.engine import program as program_module

SPEC = """
name = "small"
[problem]
name = "least_squares"
dim = {grid = [8, 12]}
noise = 0.1
[optimizer]
name = "sgd"
learning_rate = {grid = [0.2, 0.5]}
[run]
steps = 60
seeds = 3
checkpoints = 10
[theory]
predict = "sgd_least_squares"
kind = "standard_error"
tolerance = 50.0
"""


def test_a_run_plans_its_spec_once_and_builds_each_groups_program_once(tmp_path, monkeypatch):
    expansions, programs = [], []
    expand, post_init = plan_module._expand, program_module.GroupProgram.__post_init__

    def counting_expand(spec):
        expansions.append(spec.name)
        return expand(spec)

    def counting_post_init(self):
        programs.append(self.group.index)
        post_init(self)

    monkeypatch.setattr(plan_module, "_expand", counting_expand)
    monkeypatch.setattr(program_module.GroupProgram, "__post_init__", counting_post_init)
    (tmp_path / "spec.toml").write_text(SPEC)  # two static groups (dim) × two vmapped learning rates
    result = CliRunner().invoke(app, ["--store", str(tmp_path / "runs"), "run", str(tmp_path / "spec.toml")])
    assert result.exit_code == 0, result.output
    assert "verdict: pass" in result.output
    assert expansions == ["small"], expansions
    assert sorted(programs) == [0, 1], programs
