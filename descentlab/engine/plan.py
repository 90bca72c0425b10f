"""Planning: spec → static groups × vmapped runs × seeds, with readable run names.

Every configurable value is addressed as ``section.field`` (``optimizer.learning_rate``). Each
sweep axis is *static* when its declared :class:`~descentlab.params.Param` is (names, integers,
strings, booleans, floats marked static, ``run.batch_size``) — one compiled program per distinct
combination — and *vmapped* otherwise. Runs are enumerated in a fixed order (axes in the order
written, seeds innermost), so a run's index, name and random key depend only on its identity,
never on the chunk that computes it.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable
from typing import Any

import numpy as np

from descentlab.engine.spec import MAX_RUNS, Spec, Sweep, axis_values, coerce_all
from descentlab.params import Param, SpecError, check_params

SECTIONS = ("problem", "optimizer", "schedule", "sampler")
SHORT_NAMES = {"learning_rate": "lr"}
LEARNING_RATE = Param("float", None, "base learning rate η₀ (the schedule's peak)", low=0.0, low_open=True,
                      required=True)
BATCH_SIZE = Param("int", 1, "examples per step", low=1, high=1_000_000)


def _registries():
    from descentlab.optim import OPTIMIZERS, SCHEDULES
    from descentlab.probes import PROBES
    from descentlab.problems import PROBLEMS
    from descentlab.problems.samplers import SAMPLERS

    return PROBLEMS, OPTIMIZERS, SCHEDULES, SAMPLERS, PROBES


def declared_params(section: str, name: str) -> dict[str, Param]:
    """The parameters component ``name`` of ``section`` accepts (``learning_rate`` included)."""
    problems, optimizers, schedules, samplers, _ = _registries()
    if section == "problem":
        return problems.get(name, "problem.name").declared_params()
    if section == "optimizer":
        entry = optimizers.get(name, "optimizer.name")
        params = dict(entry.params)
        if entry.takes_learning_rate and "learning_rate" not in params:
            params = {"learning_rate": LEARNING_RATE, **params}
        return params
    if section == "schedule":
        return dict(schedules.get(name, "schedule.name").params)
    if section == "sampler":
        if name != "auto":
            samplers.get(name, "sampler.name")
        return {}
    raise KeyError(section)


def _section_body(spec: Spec, section: str) -> tuple[Any, dict[str, Any]]:
    body = getattr(spec, section)
    return body.name, body.values()


def validate_components(spec: Spec) -> None:
    """Check every name and parameter against what the components declare (raises SpecError)."""
    _, _, _, _, probes = _registries()
    for section in SECTIONS:
        name_value, values = _section_body(spec, section)
        for name in axis_values(name_value):
            if not isinstance(name, str):
                raise SpecError(f"{section}.name", name, "expected a string")
            declared = declared_params(section, name)
            check_params(section, declared, values, name)
            for key, value in values.items():
                coerce_all(f"{section}.{key}", declared[key], value)
    coerce_all("run.batch_size", BATCH_SIZE, spec.run.batch_size)
    for i, item in enumerate(spec.probes):
        name, options = probe_name_options(item, f"probes[{i}]")
        entry = probes.get(name, f"probes[{i}]")
        check_params(f"probes[{i}]", entry.params, options, name)
        for key, value in options.items():
            entry.params[key].coerce(f"probes[{i}].{key}", value)
    n_runs = count_runs(spec)
    if n_runs > MAX_RUNS:
        raise SpecError("spec", f"{n_runs} runs", f"at most {MAX_RUNS} runs in one experiment")
    if spec.theory is not None and spec.theory.predict is not None:
        from descentlab.engine.theory_check import validate_theory

        validate_theory(spec)
    checkpoint_steps(spec.run.steps, spec.run.checkpoints, spec.run.spacing)
    for group in plan(spec).groups:
        group.check_data_source()


def probe_name_options(item: str | dict[str, Any], field: str) -> tuple[str, dict[str, Any]]:
    if isinstance(item, str):
        return item, {}
    if "name" not in item or not isinstance(item["name"], str):
        raise SpecError(f"{field}.name", item, "a probe table needs a string 'name'")
    return item["name"], {k: v for k, v in item.items() if k != "name"}


def count_runs(spec: Spec) -> int:
    n = spec.run.seeds * len(axis_values(spec.run.batch_size))
    for section in SECTIONS:
        name_value, values = _section_body(spec, section)
        n *= len(axis_values(name_value))
        for value in values.values():
            n *= len(axis_values(value))
    return n


@dataclasses.dataclass(frozen=True)
class RunPoint:
    """One run: its index in the experiment, seed, swept values and readable name."""

    index: int
    seed: int
    swept: dict[str, Any]
    name: str


@dataclasses.dataclass
class Group:
    """Runs sharing one compiled program: the same static values."""

    index: int
    config: dict[str, dict[str, Any]]  # section -> {field: value}, swept vmapped fields hold their first value
    vmapped: tuple[str, ...]  # "section.field" passed as arrays
    runs: list[RunPoint]
    batch_size: int

    def component(self, section: str) -> tuple[str, dict[str, Any]]:
        values = dict(self.config[section])
        return values.pop("name"), values

    def dynamic_arrays(self, runs: list[RunPoint], dtype) -> dict[str, np.ndarray]:
        return {key: np.asarray([r.swept[key] for r in runs], dtype=dtype) for key in self.vmapped}

    def problem_instance(self):
        """A host-side problem with the group's values (vmapped fields at their first value)."""
        problems = _registries()[0]
        name, values = self.component("problem")
        return problems.get(name)(**values)

    def sampler_kind(self) -> str:
        kind = self.config["sampler"]["name"]
        if kind == "auto":
            return "stream" if self.problem_instance().is_stream else "with_replacement"
        return kind

    def check_data_source(self) -> None:
        problem = self.problem_instance()
        kind = self.sampler_kind()
        if problem.is_stream and kind != "stream":
            raise SpecError("sampler.name", kind, f"problem {problem.name!r} is a stream; allowed: 'stream', 'auto'")
        if not problem.is_stream:
            if kind == "stream":
                raise SpecError("sampler.name", kind, f"problem {problem.name!r} has a finite dataset; allowed: "
                                "with_replacement, random_reshuffling, single_shuffle, incremental, full_batch, auto")
            if kind != "full_batch" and self.batch_size > problem.n_examples:
                raise SpecError("run.batch_size", self.batch_size,
                                f"at most the dataset size {problem.n_examples} of {problem.name!r}")


@dataclasses.dataclass
class Plan:
    spec: Spec
    groups: list[Group]
    axes: list[str]  # swept "section.field" in enumeration order

    @property
    def n_runs(self) -> int:
        return sum(len(g.runs) for g in self.groups)


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def plan(spec: Spec) -> Plan:
    """Expand the spec's sweep axes into groups of runs (see the module docstring)."""
    # Axes in the order written; each with its coerced values.
    axes: list[tuple[str, tuple[Any, ...]]] = []
    base: dict[str, dict[str, Any]] = {}
    for section in SECTIONS:
        name_value, values = _section_body(spec, section)
        base[section] = {"name": name_value}
        if isinstance(name_value, Sweep):
            axes.append((f"{section}.name", name_value.values))
        for key, value in values.items():
            base[section][key] = value
            if isinstance(value, Sweep):
                axes.append((f"{section}.{key}", value.values))
    if isinstance(spec.run.batch_size, Sweep):
        axes.append(("run.batch_size", tuple(int(v) for v in spec.run.batch_size.values)))

    labels = _short_labels([a for a, _ in axes])
    groups: dict[tuple, Group] = {}
    index = 0
    for combo in itertools.product(*(values for _, values in axes)):
        assignment = dict(zip((a for a, _ in axes), combo, strict=True))
        config = {s: dict(base[s]) for s in SECTIONS}
        for path, value in assignment.items():
            section, field = path.split(".", 1)
            if section != "run":
                config[section][field] = value
        batch_size = int(assignment.get("run.batch_size", spec.run.batch_size))
        # Coerce and complete with defaults, then split static / vmapped.
        static_key: list[Any] = [batch_size]
        vmapped: list[str] = []
        for section in SECTIONS:
            name = config[section]["name"]
            declared = declared_params(section, name)
            completed = {"name": name}
            for field, param in declared.items():
                if field in config[section]:
                    completed[field] = param.coerce(f"{section}.{field}", config[section][field])
                elif param.default is not None:
                    completed[field] = param.default
            config[section] = completed
            for field, value in completed.items():
                path = f"{section}.{field}"
                if path in assignment:
                    assignment[path] = value  # the coerced value (e.g. 500.0 -> 500 for an int)
                if path in assignment and field != "name" and declared[field].vmapped:
                    vmapped.append(path)
                else:
                    static_key.append((path, value))
        key = tuple(static_key)
        if key not in groups:
            groups[key] = Group(len(groups), config, tuple(vmapped), [], batch_size)
        group = groups[key]
        label = ",".join(f"{labels[a]}={_format_value(v)}" for a, v in assignment.items())
        for seed in range(spec.run.seeds):
            tag = f"{label},seed={seed}" if label else f"seed={seed}"
            name = f"{config['optimizer']['name']}[{tag}]"
            group.runs.append(RunPoint(index, seed, dict(assignment), name))
            index += 1
    return Plan(spec, list(groups.values()), [a for a, _ in axes])


def _short_labels(paths: Iterable[str]) -> dict[str, str]:
    paths = list(paths)
    fields = [p.split(".", 1)[1] for p in paths]
    out = {}
    for path, field in zip(paths, fields, strict=True):
        short = SHORT_NAMES.get(field, field)
        out[path] = path if fields.count(field) > 1 else short
    return out


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
