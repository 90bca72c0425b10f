"""Planner: static vs vmapped axes, enumeration order, names; the checkpoint grid."""

from __future__ import annotations

import numpy as np
import pytest

from descentlab.engine.load import spec_from_dict
from descentlab.engine.plan import Plan
from descentlab.engine.spec import checkpoint_steps
from tests.conftest import small_spec_dict


def test_float_axes_are_vmapped_and_shape_axes_static():
    spec = spec_from_dict(
        small_spec_dict(
            problem={"dim": {"grid": [8, 16]}, "noise": {"grid": [0.0, 0.1]}},
            optimizer={"learning_rate": {"logspace": [0.1, 1.0, 3]}},
        )
    )
    p = Plan.from_spec(spec)
    assert len(p.groups) == 2  # one per dimension
    assert p.n_runs == 2 * 2 * 3 * 3
    for group in p.groups:
        assert group.vmapped == ("problem.noise", "optimizer.learning_rate")
        assert len(group.runs) == 2 * 3 * 3
    assert {g.config["problem"]["dim"] for g in p.groups} == {8, 16}


def test_optimizer_name_and_batch_size_axes_are_static():
    spec = spec_from_dict(
        small_spec_dict(
            optimizer={"name": {"grid": ["sgd", "adam"]}, "learning_rate": 0.1},
            run={"steps": 10, "batch_size": {"grid": [1, 4]}},
        )
    )
    p = Plan.from_spec(spec)
    assert len(p.groups) == 4
    assert sorted((g.config["optimizer"]["name"], g.batch_size) for g in p.groups) == [
        ("adam", 1),
        ("adam", 4),
        ("sgd", 1),
        ("sgd", 4),
    ]


def test_run_indices_names_and_seeds():
    p = Plan.from_spec(spec_from_dict(small_spec_dict()))
    runs = [r for g in p.groups for r in g.runs]
    assert [r.index for r in runs] == list(range(6))
    assert [r.seed for r in runs] == [0, 1, 2, 0, 1, 2]
    assert runs[4].name == "sgd[lr=0.5,seed=1]"
    assert runs[0].swept == {"optimizer.learning_rate": 0.2}


def test_defaults_are_filled_in():
    group = Plan.from_spec(spec_from_dict(small_spec_dict())).groups[0]
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


def test_runs_are_the_product_of_the_axes_in_written_order():
    """The lazily computed runs equal a brute-force enumeration: axes in the order written (static and
    vmapped interleaved, a name axis among them), seeds innermost; each run in the group of its static values."""
    import itertools

    spec = spec_from_dict(
        small_spec_dict(
            problem={"dim": {"grid": [8, 16]}, "noise": {"grid": [0.0, 0.1, 0.2]}},
            optimizer={"name": {"grid": ["sgd", "adam"]}, "learning_rate": {"logspace": [0.1, 1.0, 3]}},
            run={"steps": 10, "seeds": 2, "batch_size": {"grid": [1, 4]}},
        )
    )
    p = Plan.from_spec(spec)
    assert p.axes == ["problem.dim", "problem.noise", "optimizer.name", "optimizer.learning_rate", "run.batch_size"]
    lrs = np.geomspace(0.1, 1.0, 3)
    expected = {}
    for i, (dim, noise, name, lr, b) in enumerate(
        itertools.product([8, 16], [0.0, 0.1, 0.2], ["sgd", "adam"], lrs, [1, 4])
    ):
        for seed in range(2):
            expected[2 * i + seed] = (dim, noise, name, lr, b, seed)
    seen = set()
    assert len(p.groups) == 2 * 2 * 2  # dim × name × batch size
    assert [g.index for g in p.groups] == list(range(8))
    firsts = [int(g.runs.indices().min()) for g in p.groups]
    assert firsts == sorted(firsts)  # groups in the order of their first run
    for group in p.groups:
        runs = list(group.runs)
        assert [r.index for r in runs] == group.runs.indices().tolist() == sorted(r.index for r in runs)
        for run in runs:
            dim, noise, name, lr, b, seed = expected[run.index]
            config = group.config
            assert (config["problem"]["dim"], config["optimizer"]["name"], group.batch_size) == (dim, name, b)
            assert run.seed == seed and run.swept["problem.noise"] == noise
            assert run.swept["optimizer.learning_rate"] == pytest.approx(lr, rel=1e-10)
            assert run.name == f"{name}[dim={dim},noise={noise:.4g},name={name},lr={lr:.4g},batch_size={b},seed={seed}]"
            seen.add(run.index)
        arrays = group.dynamic_arrays_at(group.runs.indices(), np.float64)
        np.testing.assert_array_equal(
            arrays["optimizer.learning_rate"], [r.swept["optimizer.learning_rate"] for r in runs]
        )
        np.testing.assert_array_equal(group.runs.seeds_of(group.runs.indices()), [r.seed for r in runs])
        assert group.runs[3] == runs[3] and group.runs[-1] == runs[-1] and group.runs[:2] == runs[:2]
    assert seen == set(expected)


def test_a_ten_million_run_sweep_plans_without_per_run_objects():
    import time
    import tracemalloc

    spec = spec_from_dict(
        small_spec_dict(
            optimizer={"learning_rate": {"logspace": [0.01, 1.0, 100_000]}}, run={"steps": 10, "seeds": 100}
        )
    )
    tracemalloc.start()
    start = time.perf_counter()
    p = Plan.from_spec(spec)
    elapsed = time.perf_counter() - start
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert p.n_runs == 10_000_000
    assert elapsed < 5.0 and held < 20 * 2**20  # the 100 000 coerced rates, not 10⁷ runs
    (group,) = p.groups
    last = group.runs[-1]
    assert last.index == 9_999_999 and last.seed == 99
    assert last.swept["optimizer.learning_rate"] == pytest.approx(1.0)


def test_a_probe_whose_capability_the_problem_lacks_is_refused_by_the_plan():
    """``accuracy`` needs ``Predicts``: on a quadratic the plan says so in one line, before anything is traced."""
    from descentlab.engine.spec import parse_spec
    from descentlab.params import SpecError

    spec = parse_spec(
        {
            **small_spec_dict(optimizer={"learning_rate": 0.1}, probes=["metrics", "accuracy"]),
            "problem": {"name": "quadratic", "dim": 8},
        }
    )
    with pytest.raises(
        SpecError,
        match=r"probes\[1\]: got 'accuracy'; needs a problem with a network's outputs, "
        r"predict\(params, inputs\) -> outputs; 'quadratic' has none",
    ):
        Plan.from_spec(spec)
