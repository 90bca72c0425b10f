"""Planner: static vs vmapped axes, enumeration order, names; the checkpoint grid."""

from __future__ import annotations

import numpy as np

from descentlab.engine.plan import checkpoint_steps, plan
from descentlab.engine.spec import spec_from_dict
from tests.conftest import small_spec_dict


def test_float_axes_are_vmapped_and_shape_axes_static():
    spec = spec_from_dict(small_spec_dict(
        problem={"dim": {"grid": [8, 16]}, "noise": {"grid": [0.0, 0.1]}},
        optimizer={"learning_rate": {"logspace": [0.1, 1.0, 3]}},
    ))
    p = plan(spec)
    assert len(p.groups) == 2  # one per dimension
    assert p.n_runs == 2 * 2 * 3 * 3
    for group in p.groups:
        assert group.vmapped == ("problem.noise", "optimizer.learning_rate")
        assert len(group.runs) == 2 * 3 * 3
    assert {g.config["problem"]["dim"] for g in p.groups} == {8, 16}


def test_optimizer_name_and_batch_size_axes_are_static():
    spec = spec_from_dict(small_spec_dict(
        optimizer={"name": {"grid": ["sgd", "adam"]}, "learning_rate": 0.1},
        run={"steps": 10, "batch_size": {"grid": [1, 4]}},
    ))
    p = plan(spec)
    assert len(p.groups) == 4
    assert sorted((g.config["optimizer"]["name"], g.batch_size) for g in p.groups) == [
        ("adam", 1), ("adam", 4), ("sgd", 1), ("sgd", 4)]


def test_run_indices_names_and_seeds():
    p = plan(spec_from_dict(small_spec_dict()))
    runs = [r for g in p.groups for r in g.runs]
    assert [r.index for r in runs] == list(range(6))
    assert [r.seed for r in runs] == [0, 1, 2, 0, 1, 2]
    assert runs[4].name == "sgd[lr=0.5,seed=1]"
    assert runs[0].swept == {"optimizer.learning_rate": 0.2}


def test_defaults_are_filled_in():
    group = plan(spec_from_dict(small_spec_dict())).groups[0]
    assert group.config["problem"]["teacher"] == "flat"
    assert group.config["schedule"] == {"name": "constant"}
    assert group.sampler_kind() == "stream"


def test_checkpoint_grid_log_and_linear():
    grid = checkpoint_steps(10_000, 100, "log")
    assert grid[0] == 0 and grid[-1] == 10_000
    assert np.all(np.diff(grid) > 0)
    assert 80 <= len(grid) <= 102
    ratios = grid[2:] / grid[1:-1]
    assert ratios[-20:].std() < 0.01  # geometric at the far end
    lin = checkpoint_steps(100, 10, "linear")
    assert lin.tolist() == list(range(0, 101, 10))
    assert checkpoint_steps(50, [5, 20], "log").tolist() == [0, 5, 20, 50]
