"""Spec parsing, sweep syntax, overrides, and every validation error path (one line, names the field)."""

from __future__ import annotations

import pytest

from descentlab.engine.load import load_spec, spec_from_dict
from descentlab.engine.spec import Sweep, apply_overrides, parse_sweep
from descentlab.params import SpecError
from tests.conftest import small_spec_dict


def test_toml_and_python_give_the_same_spec(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(
        'name = "small"\n[problem]\nname = "least_squares"\ndim = 16\nspectrum = "power_law"\nnoise = 0.1\n'
        '[optimizer]\nname = "sgd"\nlearning_rate = {grid = [0.2, 0.5]}\n'
        "[run]\nsteps = 60\nseeds = 3\ncheckpoints = 10\n"
    )
    assert load_spec(path) == spec_from_dict(small_spec_dict())
    assert load_spec(path).content_hash() == spec_from_dict(small_spec_dict()).content_hash()


def test_sweep_syntax():
    assert parse_sweep("f", {"grid": [1, 2]}) == Sweep(values=(1, 2))
    assert parse_sweep("f", {"logspace": [0.01, 1.0, 3]}).values == (0.01, 0.1, 1.0)
    assert parse_sweep("f", {"linspace": [0, 1, 5]}).values == (0.0, 0.25, 0.5, 0.75, 1.0)
    assert parse_sweep("f", 0.3) == 0.3


def test_round_trip_through_dict():
    spec = spec_from_dict(small_spec_dict(optimizer={"learning_rate": {"logspace": [0.01, 1, 3]}}))
    assert spec_from_dict(spec.to_dict()) == spec


def test_hash_ignores_name_but_not_values():
    a = spec_from_dict(small_spec_dict())
    b = spec_from_dict(small_spec_dict(name="other"))
    c = spec_from_dict(small_spec_dict(run={"steps": 61}))
    assert a.content_hash() == b.content_hash() != c.content_hash()


def test_overrides_parse_toml_values():
    data = apply_overrides(
        small_spec_dict(), ["run.steps=100", "optimizer.learning_rate={grid=[0.1, 0.3]}", "problem.spectrum=isotropic"]
    )
    spec = spec_from_dict(data)
    assert spec.run.steps == 100 and spec.problem.values()["spectrum"] == "isotropic"
    assert spec.optimizer.values()["learning_rate"] == Sweep(values=(0.1, 0.3))


BAD = [
    # (change, field named in the message, a word of what is allowed)
    ({"problem": {"name": "nope"}}, "problem.name", "allowed"),
    ({"problem": {"dimm": 3}}, "problem.dimm", "allowed: alpha"),
    ({"problem": {"dim": "big"}}, "problem.dim", "integer"),
    ({"problem": {"dim": 0}}, "problem.dim", ">= 1"),
    ({"problem": {"dim": 10**12}}, "problem.dim", "<="),
    ({"problem": {"spectrum": "flat"}}, "problem.spectrum", "'power_law'"),
    ({"problem": {"noise": -1.0}}, "problem.noise", ">= 0"),
    ({"problem": {"noise": True}}, "problem.noise", "number"),
    ({"optimizer": {"name": "sgdd"}}, "optimizer.name", "adam"),
    ({"optimizer": {"learning_rate": -0.1}}, "optimizer.learning_rate", "> 0"),
    ({"optimizer": {"learning_rate": {"logspace": [0, 1, 3]}}}, "optimizer.learning_rate.logspace", "> 0"),
    ({"optimizer": {"learning_rate": {"linspace": [0.1, 1]}}}, "optimizer.learning_rate.linspace", "[lo, hi, n]"),
    ({"optimizer": {"learning_rate": {"grid": []}}}, "optimizer.learning_rate.grid", "non-empty"),
    ({"optimizer": {"learning_rate": {"grid": [0.1, 0.1]}}}, "optimizer.learning_rate.grid", "distinct"),
    ({"optimizer": {"learning_rate": {"range": [1, 2]}}}, "optimizer.learning_rate", "grid, logspace or linspace"),
    ({"optimizer": {"momentum": "high"}}, "optimizer.momentum", "number"),
    ({"optimizer": {"name": "adam", "momentum": 0.9}}, "optimizer.momentum", "allowed: b1"),
    ({"schedule": {"name": "cosinus"}}, "schedule.name", "cosine"),
    ({"sampler": {"name": "random_reshuffling"}}, "sampler.name", "stream"),
    ({"run": {"steps": 0}}, "run.steps", "greater than 0"),
    ({"run": {"seeds": "many"}}, "run.seeds", "integer"),
    ({"run": {"stepz": 10}}, "run.stepz", "allowed: steps"),
    ({"run": {"dtype": "float16"}}, "run.dtype", "float32"),
    ({"run": {"checkpoints": 0}}, "run.checkpoints", "integer count"),
    ({"run": {"batch_size": 0}}, "run.batch_size", ">= 1"),
    ({"probes": ["sharpnes"]}, "probes[0]", "metrics"),
    ({"probes": [{"k": 3}]}, "probes[0].name", "name"),
    ({"extra_section": {}}, "extra_section", "allowed: name"),
    (
        {"run": {"seeds": 1000, "steps": 10}, "optimizer": {"learning_rate": {"linspace": [0.1, 1, 100000]}}},
        "spec",
        "at most",
    ),
]


@pytest.mark.parametrize(("change", "field", "allowed"), BAD)
def test_bad_specs_fail_with_one_clear_line(change, field, allowed):
    data = small_spec_dict(**change)
    with pytest.raises(SpecError) as info:
        spec_from_dict(data)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(field + ":"), message
    assert allowed in message, message


def test_missing_sections_are_named():
    data = small_spec_dict()
    del data["run"]
    with pytest.raises(SpecError, match=r"^run: .*required"):
        spec_from_dict(data)
    data = small_spec_dict()
    del data["optimizer"]["learning_rate"]
    with pytest.raises(SpecError, match=r"^optimizer.learning_rate: .*required"):
        spec_from_dict(data)


def test_bad_toml_and_missing_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[problem\nname=")
    with pytest.raises(SpecError, match="not valid TOML"):
        load_spec(path)
    with pytest.raises(SpecError, match="file not found"):
        load_spec(tmp_path / "missing.toml")
    with pytest.raises(SpecError, match=r"expected path\.to\.field=value"):
        apply_overrides({}, ["run.steps"])
