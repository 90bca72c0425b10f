"""Malformed specs (property-based): one line naming the field and what is allowed, exit 2, nothing stored.

Every generated spec is a valid base spec with one mutation that makes it invalid for sure: a wrong
type, an unknown name or field, an out-of-range value, a missing section, a shape-inconsistent value
or a huge size. The CLI runs in process (``CliRunner``) with ``--store`` pointing at a folder that
must still not exist afterwards.
"""

from __future__ import annotations

import copy
import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from descentlab.cli import app
from descentlab.engine.search import to_toml

BASE = {
    "name": "bad-input",
    "problem": {"name": "least_squares", "dim": 8, "spectrum": "power_law", "alpha": 1.0, "noise": 0.1},
    "optimizer": {"name": "sgd", "learning_rate": {"logspace": [0.01, 1.0, 3]}, "momentum": 0.5},
    "schedule": {"name": "constant"},
    "sampler": {"name": "stream"},
    "run": {"steps": 20, "seeds": 2, "checkpoints": 4, "batch_size": 2},
    "probes": ["metrics"],
}

NOT_INT = st.one_of(
    st.text(max_size=5).filter(lambda s: not re.fullmatch(r"\s*[+-]?\d+\s*", s)),
    st.lists(st.integers(), max_size=2),
    st.floats(allow_nan=False).filter(lambda f: not f.is_integer()),
    st.dictionaries(st.sampled_from(["a", "b"]), st.integers(), min_size=1, max_size=1),
)
NOT_NUMBER = st.one_of(
    st.text(max_size=5).filter(lambda s: not re.fullmatch(r"[\d\s.eE+-]*", s) or s.strip() == ""),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
)
NAME = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_<>&\"'", min_size=1, max_size=12)

# (field reported, mutation) pairs; each mutation turns BASE into an invalid spec.
INT_FIELDS = [
    ("run.steps", "run", "steps"),
    ("run.seeds", "run", "seeds"),
    ("problem.dim", "problem", "dim"),
    ("run.batch_size", "run", "batch_size"),
]
FLOAT_FIELDS = [
    ("optimizer.momentum", "optimizer", "momentum"),
    ("problem.alpha", "problem", "alpha"),
    ("problem.noise", "problem", "noise"),
    ("run.divergence_factor", "run", "divergence_factor"),
]
RANGES = [
    ("run.steps", "run", "steps", st.one_of(st.integers(max_value=0), st.integers(min_value=100_000_001))),
    ("run.seeds", "run", "seeds", st.one_of(st.integers(max_value=0), st.integers(min_value=1_000_001))),
    ("problem.dim", "problem", "dim", st.one_of(st.integers(max_value=0), st.integers(min_value=2_000_001))),
    ("problem.alpha", "problem", "alpha", st.floats(min_value=10.001, max_value=1e300)),
    ("problem.low_fraction", "problem", "low_fraction", st.floats(min_value=1.000001, max_value=1e300)),
    ("problem.noise", "problem", "noise", st.floats(max_value=-1e-9, min_value=-1e300)),
    ("run.checkpoints", "run", "checkpoints", st.integers(min_value=100_001, max_value=10**12)),
    ("run.chunk_size", "run", "chunk_size", st.integers(max_value=0)),
]


@st.composite
def malformed(draw):
    spec = copy.deepcopy(BASE)
    kind = draw(
        st.sampled_from(
            [
                "type_int",
                "type_float",
                "unknown_name",
                "unknown_field",
                "range",
                "missing",
                "shape",
                "huge",
                "sweep",
                "choice",
            ]
        )
    )
    if kind == "type_int":
        field, section, key = draw(st.sampled_from(INT_FIELDS))
        spec[section][key] = draw(NOT_INT)
    elif kind == "type_float":
        field, section, key = draw(st.sampled_from(FLOAT_FIELDS))
        spec[section][key] = draw(NOT_NUMBER)
    elif kind == "unknown_name":
        section = draw(st.sampled_from(["problem", "optimizer", "schedule", "sampler"]))
        spec[section]["name"] = "zz_" + draw(NAME)
        field = f"{section}.name"
    elif kind == "unknown_field":
        section = draw(st.sampled_from(["problem", "optimizer", "run", "top"]))
        key = "zz_" + draw(NAME)
        if section == "top":
            spec[key] = 1
            field = key
        else:
            spec[section][key] = draw(st.integers())
            field = f"{section}.{key}"
    elif kind == "range":
        field, section, key, values = draw(st.sampled_from(RANGES))
        spec[section][key] = draw(values)
    elif kind == "missing":
        section = draw(st.sampled_from(["problem", "optimizer", "run"]))
        del spec[section]
        field = section
        if draw(st.booleans()) and section == "run":
            spec["run"] = {"seeds": 2}
            field = "run.steps"
    elif kind == "shape":
        which = draw(st.sampled_from(["spectrum_values", "batch_vs_data", "linspace_equal", "checkpoint_list"]))
        if which == "spectrum_values":
            n = draw(st.sampled_from([3, 5, 6, 7]))  # does not divide dim = 8
            spec["problem"].update(spectrum="custom", spectrum_values=",".join(["1"] * n))
            field = "problem.spectrum_values"
        elif which == "batch_vs_data":
            spec["problem"]["n_samples"] = 4
            spec["sampler"]["name"] = "with_replacement"
            spec["run"]["batch_size"] = draw(st.integers(min_value=5, max_value=1000))
            field = "run.batch_size"
        elif which == "linspace_equal":
            v = draw(st.floats(min_value=0, max_value=0.9))
            spec["optimizer"]["momentum"] = {"linspace": [v, v, draw(st.integers(min_value=2, max_value=50))]}
            field = "optimizer.momentum.linspace"
        else:
            spec["run"]["checkpoints"] = [0, draw(st.integers(min_value=21, max_value=10**6))]
            field = "run.checkpoints"
    elif kind == "huge":
        which = draw(st.sampled_from(["axis", "runs"]))
        if which == "axis":
            spec["optimizer"]["learning_rate"] = {"logspace": [0.01, 1.0, draw(st.integers(100_001, 10**9))]}
            field = "optimizer.learning_rate.logspace"
        else:
            spec["run"]["seeds"] = 1_000_000
            spec["optimizer"]["learning_rate"] = {"logspace": [0.01, 1.0, draw(st.integers(11, 100_000))]}
            spec["optimizer"]["momentum"] = {"linspace": [0.0, 0.5, 2]}
            field = "spec"
    elif kind == "sweep":
        spec["optimizer"]["learning_rate"] = draw(
            st.sampled_from(
                [
                    {"logspace": [0.0, 1.0, 3]},
                    {"logspace": [-1.0, 1.0, 3]},
                    {"grid": []},
                    {"grid": [0.1, 0.1]},
                    {"range": [0.1, 1.0]},
                    {"grid": [0.1], "logspace": [0.1, 1.0, 2]},
                    {"linspace": [0.1, 1.0]},
                    {"linspace": [0.1, 1.0, 2.5]},
                    {"logspace": ["a", 1.0, 2]},
                ]
            )
        )
        field = "optimizer.learning_rate"
    else:
        spec["problem"]["spectrum"] = draw(
            NAME.filter(lambda s: s not in ("isotropic", "power_law", "zero_one", "two_level", "custom"))
        )
        field = "problem.spectrum"
    return spec, field


def _toml(spec: dict) -> str:
    return to_toml(spec)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(malformed())
def test_every_malformed_spec_is_one_line_exit_2_and_writes_nothing(case):
    spec, field = case
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "spec.toml"
        path.write_text(_toml(spec))
        store = Path(folder) / "store"
        result = CliRunner().invoke(app, ["--store", str(store), "run", str(path), "--no-report"])
        text = result.output.strip()
        assert result.exit_code == 2, (spec, result.output, result.exception)
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        assert "Traceback" not in text
        lines = text.splitlines()
        assert len(lines) == 1, text
        message = lines[0]
        match = re.match(r"^error: (\S+): got (.*); (.+)$", message)  # field: got value; what is allowed
        assert match, message
        assert match.group(1).startswith(field), (field, message)
        assert len(match.group(3)) > 5, message
        assert not store.exists(), "a rejected spec wrote to the store"
