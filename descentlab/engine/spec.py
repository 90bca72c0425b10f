"""The experiment spec: TOML or Python, validated before anything is compiled.

A spec has sections ``problem``, ``optimizer``, ``schedule``, ``sampler``, ``run``, a top-level
``probes`` list and an optional ``theory`` section. In ``problem``, ``optimizer``, ``schedule``
and ``sampler`` (and ``run.batch_size``), a value written as one of

* ``{grid = [v1, v2, ...]}``
* ``{logspace = [lo, hi, n]}`` — n values from lo to hi, geometrically spaced (lo, hi > 0 are values)
* ``{linspace = [lo, hi, n]}`` — n values from lo to hi, evenly spaced

becomes a sweep axis. Validation is done here with pydantic for the sections' structure and with
each component's declared :class:`~descentlab.params.Param`s for its parameters; every error is one
:class:`~descentlab.params.SpecError` line naming the field, the value and what is allowed.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from descentlab.params import Param, SpecError

MAX_AXIS_VALUES = 100_000
MAX_RUNS = 10_000_000
MAX_DEPTH = 32
"""Deepest nesting of tables and arrays a spec may have (a spec needs 4; deeper input is refused
before anything recurses over it)."""
MAX_SPEC_BYTES = 16 << 20
SWEEP_KEYS = ("grid", "logspace", "linspace")


def nesting_depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """Levels of nested tables/arrays in ``value`` (counted without recursion, at most ``limit + 1``)."""
    depth, level = 0, [value]
    while level and depth <= limit:
        level = [child for node in level for child in _children(node)]
        depth += bool(level)
    return depth


def _children(node: Any) -> list[Any]:
    if isinstance(node, Mapping):
        return list(node.values())
    if isinstance(node, (list, tuple)):
        return list(node)
    return []


def check_depth(field: str, value: Any) -> None:
    """Raise :class:`SpecError` when ``value`` nests tables/arrays deeper than ``MAX_DEPTH``."""
    if nesting_depth(value) > MAX_DEPTH:
        raise SpecError(
            field, f"<nested more than {MAX_DEPTH} levels>", f"at most {MAX_DEPTH} levels of nested tables and arrays"
        )


def _distinct_key(value: Any) -> str:
    """A value's identity for duplicate checks: 1 and 1.0 are the same value, true and 1 are not."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return json.dumps(value, sort_keys=True, default=repr)


class Sweep(BaseModel):
    """A sweep axis: the list of values one field takes."""

    model_config = ConfigDict(frozen=True)
    values: tuple[Any, ...]


def parse_sweep(field: str, raw: Any) -> Any:
    """A plain value, or a :class:`Sweep` for ``{grid|logspace|linspace = ...}``."""
    if not isinstance(raw, Mapping):
        return raw
    keys = set(raw)
    if len(keys) != 1 or not keys <= set(SWEEP_KEYS):
        raise SpecError(field, dict(raw), "a sweep is a table with exactly one key: grid, logspace or linspace")
    (kind,) = keys
    arg = raw[kind]
    if kind == "grid":
        if not isinstance(arg, list) or not arg:
            raise SpecError(f"{field}.grid", arg, "expected a non-empty list of values")
        if len(arg) > MAX_AXIS_VALUES:
            raise SpecError(f"{field}.grid", f"<{len(arg)} values>", f"at most {MAX_AXIS_VALUES} values per axis")
        if len({_distinct_key(v) for v in arg}) != len(arg):
            raise SpecError(f"{field}.grid", arg, "values must be distinct (1 and 1.0 are the same value)")
        return Sweep(values=tuple(arg))
    where = f"{field}.{kind}"
    if (
        not isinstance(arg, list)
        or len(arg) != 3
        or any(isinstance(a, bool) or not isinstance(a, (int, float)) for a in arg)
    ):
        raise SpecError(where, arg, "expected [lo, hi, n] with numbers lo, hi and an integer n >= 1")
    lo, hi, n = arg
    if not (isinstance(n, int) or float(n).is_integer()) or not 1 <= n <= MAX_AXIS_VALUES:
        raise SpecError(where, arg, f"n must be an integer in [1, {MAX_AXIS_VALUES}]")
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise SpecError(where, arg, "lo and hi must be finite")
    n = int(n)
    if n > 1 and lo == hi:
        raise SpecError(where, arg, "lo and hi must differ when n > 1")
    if kind == "logspace":
        if lo <= 0 or hi <= 0:
            raise SpecError(where, arg, "logspace takes values lo, hi > 0 (not exponents)")
        values = np.geomspace(lo, hi, n)
    else:
        values = np.linspace(lo, hi, n)
    rounded = tuple(float(f"{v:.12g}") for v in values)
    if len(set(rounded)) != n:
        raise SpecError(where, arg, "the n values must be distinct at 12 significant digits; widen [lo, hi] or lower n")
    return Sweep(values=rounded)


class _Section(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    def values(self) -> dict[str, Any]:
        """The section's parameters (everything but ``name``), sweeps included."""
        return {k: v for k, v in (self.model_extra or {}).items()}


class ProblemSection(_Section):
    name: Any


class OptimizerSection(_Section):
    name: Any


class ScheduleSection(_Section):
    name: Any = "constant"


class SamplerSection(_Section):
    name: Any = "auto"


class RunSection(BaseModel):
    """How long, how many, how measured."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    steps: int = Field(gt=0, le=100_000_000)
    batch_size: Any = 1
    seeds: int = Field(default=1, ge=1, le=1_000_000)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    checkpoints: int | list[int] = 100
    spacing: Literal["log", "linear"] = "log"
    divergence_factor: float = Field(default=1e6, gt=1.0)
    dtype: Literal["float32", "float64"] = "float32"
    chunk_size: int | None = Field(default=None, ge=1, le=10_000_000)
    vmap_width: int | None = Field(default=None, ge=1, le=1_000_000)
    memory_budget_mb: float | None = Field(default=None, gt=0, allow_inf_nan=False)

    @field_validator("checkpoints")
    @classmethod
    def _check_checkpoints(cls, value):
        if isinstance(value, int) and not 1 <= value <= 100_000:
            raise ValueError("an integer count in [1, 100000] or a list of steps")
        if isinstance(value, list) and (not value or len(value) > 100_000 or any(v < 0 for v in value)):
            raise ValueError("a non-empty list of at most 100000 steps >= 0")
        return value


class TheorySection(BaseModel):
    """A prediction to compare with (``predict``, required) and its options (kind, curve, metric, tolerance, and
    the prediction's own parameters), checked by :func:`descentlab.engine.theory_spec.validate_theory`."""

    model_config = ConfigDict(extra="allow", frozen=True)
    predict: str


class Spec(BaseModel):
    """A whole experiment (see the module docstring for the sweep syntax)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(default="experiment", min_length=1, max_length=200)
    description: str = ""
    problem: ProblemSection
    optimizer: OptimizerSection
    schedule: ScheduleSection = ScheduleSection()
    sampler: SamplerSection = SamplerSection()
    run: RunSection
    probes: list[str | dict[str, Any]] = Field(default_factory=lambda: ["metrics"])
    theory: TheorySection | None = None
    _plan: Any = PrivateAttr(default=None)
    """The :class:`~descentlab.engine.plan.Plan` that validated this spec (kept, so a spec is planned once)."""

    def __eq__(self, other: object) -> bool:  # the kept plan is not part of a spec's identity
        return isinstance(other, Spec) and self.to_dict() == other.to_dict()

    __hash__ = None  # a spec holds tables: not hashable (content_hash() is its identity)

    @field_validator("name")
    @classmethod
    def _one_printable_line(cls, value: str) -> str:
        if _CONTROL.search(value):
            raise ValueError("printable text on one line (no newline, tab or other control character)")
        return value

    # ------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A plain dict, round-trippable through :func:`parse_spec` (sweeps in their TOML form)."""
        return _plain(self.model_dump(exclude_none=True))

    def content_hash(self) -> str:
        """Hash of everything that affects results (not the name, the description or the memory budget, which
        decides only how many vmap blocks of a chunk run at once)."""
        body = {k: v for k, v in self.to_dict().items() if k not in ("name", "description")}
        body["run"] = {k: v for k, v in body["run"].items() if k != "memory_budget_mb"}
        return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        if set(obj) == {"values"} and isinstance(obj["values"], (tuple, list)):
            return {"grid": [_plain(v) for v in obj["values"]]}
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


_UNION_TAG = re.compile(r"^(int|float|str|bool|list\[.*\]|dict\[.*\])$")


def _pydantic_error(err: ValidationError) -> SpecError:
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first["loc"] if not _UNION_TAG.match(str(p))) or "spec"
    value = first.get("input")
    kind = first["type"]
    if kind == "missing":
        return SpecError(loc, None, "this field is required")
    if kind == "extra_forbidden":
        return SpecError(loc, value, "unknown field; " + _allowed_fields(first["loc"]))
    message = first["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    return SpecError(loc, value, message)


def _allowed_fields(loc: tuple) -> str:
    model: Any = Spec
    for part in loc[:-1]:
        annotation = model.model_fields[part].annotation
        model = next((a for a in getattr(annotation, "__args__", (annotation,)) if isinstance(a, type)), annotation)
    return "allowed: " + ", ".join(model.model_fields)


def parse_spec(data: Mapping[str, Any]) -> Spec:
    """The structure of a dict (parsed TOML or Python) as a :class:`Spec`: sections, field types and sweep syntax
    (raises :class:`SpecError`). Components and their parameters are checked by
    :meth:`descentlab.engine.plan.Plan.from_spec`; :func:`descentlab.engine.load.spec_from_dict` does both."""
    if not isinstance(data, Mapping):
        raise SpecError("spec", data, "expected a table of sections")
    check_depth("spec", data)
    data = copy.deepcopy(dict(data))
    for section in ("problem", "optimizer", "schedule", "sampler"):
        body = data.get(section)
        if body is None:
            continue
        if not isinstance(body, Mapping):
            raise SpecError(section, body, "expected a table")
        data[section] = {k: parse_sweep(f"{section}.{k}", v) for k, v in body.items()}
    if isinstance(data.get("run"), Mapping) and "batch_size" in data["run"]:
        data["run"] = dict(data["run"])
        data["run"]["batch_size"] = parse_sweep("run.batch_size", data["run"]["batch_size"])
    try:
        return Spec.model_validate(data)
    except ValidationError as err:
        raise _pydantic_error(err) from None


def read_toml(path: str | Path) -> dict[str, Any]:
    """A TOML file as a dict; a missing, special (folder, FIFO, device), huge or malformed file, or one
    nested deeper than ``MAX_DEPTH``, is a :class:`SpecError`. A FIFO or device is never opened."""
    path = Path(path)
    if not path.exists():
        raise SpecError("spec", str(path), "file not found")
    if not path.is_file():
        raise SpecError("spec", str(path), "not a regular file (a folder, FIFO or device); expected a TOML file")
    if path.stat().st_size > MAX_SPEC_BYTES:
        raise SpecError("spec", str(path), f"larger than {MAX_SPEC_BYTES >> 20} MiB; expected a TOML spec")
    try:
        data = tomllib.loads(path.read_text())
    except OSError as err:
        raise SpecError("spec", str(path), f"cannot be read ({err.strerror or err})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise SpecError("spec", str(path), f"not valid TOML ({err})") from None
    except RecursionError:
        raise SpecError("spec", str(path), f"at most {MAX_DEPTH} levels of nested tables and arrays") from None
    check_depth("spec", data)
    return data


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_one_line(field: str, item: str) -> None:
    """Raise :class:`SpecError` when a command-line assignment holds a newline or another control character
    (``a=1\\nb=2`` would otherwise set ``a`` and silently drop ``b``)."""
    if _CONTROL.search(item):
        raise SpecError(field, item, "one assignment on one line: no newline or other control character")


def parse_override_value(text: str, field: str = "--set") -> Any:
    """A ``--set`` value: parsed as one TOML value when it is one, else taken as a string.

    A newline or control character, or a value nested deeper than ``MAX_DEPTH``, is a :class:`SpecError`."""
    check_one_line(field, text)
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    except RecursionError:
        raise SpecError(field, text, f"at most {MAX_DEPTH} levels of nested tables and arrays") from None
    check_depth(field, value)
    return value


def apply_overrides(data: Mapping[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``path.to.field=value`` assignments to a spec dict (a copy is returned)."""
    check_depth("spec", data)
    out = copy.deepcopy(dict(data))
    for item in overrides:
        check_one_line("--set", item)
        if "=" not in item:
            raise SpecError("--set", item, "expected path.to.field=value")
        path, text = item.split("=", 1)
        parts = [p for p in path.strip().split(".") if p]
        if not parts:
            raise SpecError("--set", item, "expected path.to.field=value")
        if len(parts) > MAX_DEPTH:
            raise SpecError("--set", item, f"a path of at most {MAX_DEPTH} fields")
        node = out
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise SpecError(path, child, "is not a table; cannot set a field inside it")
            node = child
        node[parts[-1]] = parse_override_value(text.strip())
    return out


def axis_values(value: Any) -> tuple[Any, ...]:
    """The values an entry takes: its sweep values, or the single value."""
    return value.values if isinstance(value, Sweep) else (value,)


def coerce_all(field: str, param: Param, value: Any) -> Any:
    """Coerce a plain value or every value of a sweep; a sweep stays a :class:`Sweep`."""
    if isinstance(value, Sweep):
        return Sweep(values=tuple(param.coerce(field, v) for v in value.values))
    return param.coerce(field, value)


PROBE_EVERY = Param(
    "int",
    1,
    "measure at every k-th checkpoint only (and at the first and last); skipped "
    "checkpoints cost nothing and store no value",
    low=1,
    high=1_000_000,
)


def probe_params(entry) -> dict[str, Param]:
    """A probe's declared options and the engine's own ``every``."""
    return {**entry.params, "every": PROBE_EVERY}


def probe_name_options(item: str | dict[str, Any], field: str) -> tuple[str, dict[str, Any]]:
    """A ``probes`` entry (a name, or a table with ``name`` and options) as (name, options)."""
    if isinstance(item, str):
        return item, {}
    if "name" not in item or not isinstance(item["name"], str):
        raise SpecError(f"{field}.name", item, "a probe table needs a string 'name'")
    return item["name"], {k: v for k, v in item.items() if k != "name"}


def checkpoint_steps(steps: int, checkpoints: int | list[int], spacing: str = "log") -> np.ndarray:
    """Sorted unique steps at which probes run: step 0, ~``checkpoints`` spaced steps, the last step."""
    if isinstance(checkpoints, list):
        grid = np.asarray(checkpoints, dtype=np.int64)
        if grid.max() > steps:
            raise SpecError("run.checkpoints", int(grid.max()), f"checkpoints must be <= run.steps = {steps}")
    elif spacing == "log":
        grid = np.unique(np.round(np.geomspace(1, steps, max(checkpoints, 1))).astype(np.int64))
    else:
        grid = np.unique(np.round(np.linspace(0, steps, max(checkpoints, 1) + 1)).astype(np.int64))
    return np.unique(np.concatenate([[0], grid, [steps]])).astype(np.int64)
