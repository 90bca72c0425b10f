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
import functools
import itertools
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from descentlab.engine import theory_spec
from descentlab.engine.program import GroupProgram, recorded_metrics
from descentlab.engine.spec import (
    MAX_RUNS,
    Spec,
    Sweep,
    axis_values,
    checkpoint_steps,
    coerce_all,
    probe_name_options,
    probe_params,
)
from descentlab.params import Param, SpecError, check_params

SECTIONS = ("problem", "optimizer", "schedule", "sampler")
SHORT_NAMES = {"learning_rate": "lr"}
LEARNING_RATE = Param(
    "float", None, "base learning rate η₀ (the schedule's peak)", low=0.0, low_open=True, required=True
)
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
    seen: set[str] = set()
    for i, item in enumerate(spec.probes):
        name, options = probe_name_options(item, f"probes[{i}]")
        entry = probes.get(name, f"probes[{i}]")
        if name in seen:
            raise SpecError(f"probes[{i}]", name, "each probe at most once (a second would record the same metrics)")
        seen.add(name)
        declared = probe_params(entry)
        check_params(f"probes[{i}]", declared, options, name)
        for key, value in options.items():
            declared[key].coerce(f"probes[{i}].{key}", value)
    n_runs = count_runs(spec)
    if n_runs > MAX_RUNS:
        raise SpecError("spec", f"{n_runs} runs", f"at most {MAX_RUNS} runs in one experiment")
    checkpoint_steps(spec.run.steps, spec.run.checkpoints, spec.run.spacing)
    if spec.theory is not None:
        theory_spec.validate_theory_section(spec)


HOST_ITEMSIZE = 8
"""Bytes per number of a problem's host-side data (NumPy draws are float64)."""


def memory_cap(spec: Spec) -> tuple[int, str]:
    """(bytes, what it is) a problem's data and one run's batches may take: the engine's memory budget
    (``run.memory_budget_mb``, else its share of the available memory)."""
    from descentlab.engine.executors import memory_budget_bytes

    if spec.run.memory_budget_mb is not None:
        return memory_budget_bytes(spec), "run.memory_budget_mb"
    return memory_budget_bytes(spec), "the memory budget: a share of the available memory; run.memory_budget_mb sets it"


def format_bytes(n: float) -> str:
    """``n`` bytes in binary units (``146 TiB``)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.3g} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def check_problem_memory(cls, values: dict[str, Any], batch_size: int, cap: tuple[int, str], itemsize: int) -> None:
    """Refuse a problem whose data (``data_elements``) or one run's batches (a step's batch and the evaluation
    batch, ``example_elements`` each) would not fit ``cap``, naming the fields that size them."""
    limit, what = cap
    arrays = cls.data_elements(values)
    data = HOST_ITEMSIZE * sum(arrays.values())
    if data > limit:
        fields = max(arrays, key=arrays.__getitem__)
        raise SpecError(
            "problem." + ",".join(fields),
            {f: values[f] for f in fields},
            f"{cls.name}'s data would need about {format_bytes(data)}; at most {format_bytes(limit)} fit ({what})",
        )
    batches = (batch_size + cls.eval_size) * cls.example_elements(values) * itemsize
    if batches > limit:
        shape = " × ".join(f"problem.{d}" if isinstance(d, str) else str(d) for d in cls.example)
        raise SpecError(
            "run.batch_size",
            batch_size,
            f"a batch of {batch_size} (and an evaluation batch of "
            f"{cls.eval_size}) examples of {shape} numbers each would need about "
            f"{format_bytes(batches)}; at most {format_bytes(limit)} fit ({what})",
        )


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


class ExplicitRuns(list):
    """A group's runs given one by one (a search's candidates): the same interface as :class:`RunGrid`."""

    def indices(self) -> np.ndarray:
        return np.asarray([r.index for r in self], np.int64)

    @functools.cached_property
    def _by_index(self) -> dict[int, RunPoint]:
        return {r.index: r for r in self}

    def at(self, indices: Sequence[int]) -> list[RunPoint]:
        return [self._by_index[int(i)] for i in indices]

    def seeds_of(self, indices: Sequence[int]) -> np.ndarray:
        return np.asarray([r.seed for r in self.at(indices)], np.int64)

    def values(self, indices: Sequence[int], path: str) -> list[Any]:
        return [r.swept[path] for r in self.at(indices)]


@dataclasses.dataclass
class _Block:
    """One combination of the static axes: {axis position: (value index, coerced value)}."""

    static: dict[int, tuple[int, Any]]


class RunGrid(Sequence[RunPoint]):
    r"""The runs of one group, computed on demand from the sweep's axes (no per-run objects are kept).

    Runs are the product of the experiment's axes (in the order written, the last fastest) with the
    seeds innermost; the run of axis value indices :math:`(i_1..i_m)` and seed s has the experiment
    index :math:`(\sum_a i_a \prod_{b>a} n_b)\cdot S + s`. A group holds one block per combination of
    its static axes and, within a block, the product of its vmapped axes × seeds, in index order. A
    sweep of millions of runs thus plans in the time and memory of its static combinations.
    """

    def __init__(
        self,
        paths: Sequence[str],
        sizes: Sequence[int],
        seeds: int,
        labels: Sequence[str],
        optimizer_name: str,
        vmapped: dict[int, tuple[Any, ...]],
    ):
        self.paths = tuple(paths)
        self.position = {path: a for a, path in enumerate(self.paths)}
        self.sizes = tuple(int(n) for n in sizes)
        self.strides = tuple(int(np.prod(self.sizes[a + 1 :], dtype=np.int64)) for a in range(len(self.sizes)))
        self.seeds = int(seeds)
        self.labels = tuple(labels)
        self.optimizer_name = optimizer_name
        self.vmapped = dict(vmapped)  # axis position -> coerced values
        self.vmapped_positions = sorted(self.vmapped)
        self.per_block = self.seeds * int(np.prod([self.sizes[a] for a in self.vmapped_positions], dtype=np.int64))
        self.blocks: list[_Block] = []
        self._block_of: dict[tuple[int, ...], int] = {}

    def add_block(self, static: dict[int, tuple[int, Any]]) -> None:
        self._block_of[tuple(static[a][0] for a in sorted(static))] = len(self.blocks)
        self.blocks.append(_Block(dict(static)))

    def __len__(self) -> int:
        return len(self.blocks) * self.per_block

    def _decode(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(seeds, axis value indices of shape (n, m)) of experiment run indices."""
        indices = np.asarray(indices, np.int64)
        combo, seeds = np.divmod(indices, self.seeds)
        axes = (
            np.stack([(combo // st) % n for st, n in zip(self.strides, self.sizes, strict=True)], axis=-1)
            if self.sizes
            else np.zeros((len(indices), 0), np.int64)
        )
        return seeds, axes

    def seeds_of(self, indices: Sequence[int]) -> np.ndarray:
        return np.asarray(indices, np.int64) % self.seeds

    def _base(self, block: _Block) -> int:
        """Flat axis combination of the block's static values (its vmapped axes at index 0)."""
        return sum(i * self.strides[a] for a, (i, _) in block.static.items())

    def indices(self) -> np.ndarray:
        """Experiment indices of the group's runs, in the group's order."""
        offsets = np.zeros(1, np.int64)
        for a in self.vmapped_positions:
            offsets = (offsets[:, None] + np.arange(self.sizes[a], dtype=np.int64) * self.strides[a]).reshape(-1)
        out = [
            ((self._base(block) + offsets)[:, None] * self.seeds + np.arange(self.seeds)).reshape(-1)
            for block in self.blocks
        ]
        return np.concatenate(out) if out else np.zeros(0, np.int64)

    def _index_of(self, position: int) -> int:
        """Experiment index of the group's ``position``-th run (the same order as :meth:`indices`)."""
        block, offset = divmod(position, self.per_block)
        combo, seed = divmod(offset, self.seeds)
        flat = self._base(self.blocks[block])
        for a in reversed(self.vmapped_positions):  # the last axis varies fastest
            combo, i = divmod(combo, self.sizes[a])
            flat += i * self.strides[a]
        return flat * self.seeds + seed

    def values(self, indices: Sequence[int], path: str) -> list[Any]:
        """The coerced value of axis ``path`` for each run (vmapped or static)."""
        path_position = self.position[path]
        _, axes = self._decode(np.asarray(indices))
        if path_position in self.vmapped:
            values = self.vmapped[path_position]
            return [values[i] for i in axes[:, path_position]]
        blocks = [self.blocks[self._block_of[key]] for key in self._static_keys(axes)]
        return [b.static[path_position][1] for b in blocks]

    def _static_keys(self, axes: np.ndarray) -> list[tuple[int, ...]]:
        statics = [a for a in range(len(self.sizes)) if a not in self.vmapped]
        return [tuple(int(v) for v in row) for row in axes[:, statics]]

    def at(self, indices: Sequence[int]) -> list[RunPoint]:
        seeds, axes = self._decode(np.asarray(indices))
        runs = []
        for index, seed, row, key in zip(indices, seeds, axes, self._static_keys(axes), strict=True):
            block = self.blocks[self._block_of[key]]  # KeyError: not a run of this group
            swept = {
                path: self.vmapped[a][row[a]] if a in self.vmapped else block.static[a][1]
                for a, path in enumerate(self.paths)
            }
            label = ",".join(
                f"{short}={_format_value(v)}" for short, v in zip(self.labels, swept.values(), strict=True)
            )
            tag = f"{label},seed={seed}" if label else f"seed={seed}"
            runs.append(RunPoint(int(index), int(seed), swept, f"{self.optimizer_name}[{tag}]"))
        return runs

    def __getitem__(self, item):
        if isinstance(item, slice):
            return self.at(self.indices()[item])
        if item < 0:
            item += len(self)
        if not 0 <= item < len(self):
            raise IndexError(item)
        return self.at([self._index_of(item)])[0]

    def __iter__(self):
        indices = self.indices()
        for start in range(0, len(indices), 4096):
            yield from self.at(indices[start : start + 4096])


@dataclasses.dataclass
class Group:
    """Runs sharing one compiled program: the same static values."""

    index: int
    config: dict[str, dict[str, Any]]  # section -> {field: value}, swept vmapped fields hold their first value
    vmapped: tuple[str, ...]  # "section.field" passed as arrays
    runs: Sequence[RunPoint]  # a RunGrid (planned sweeps) or ExplicitRuns
    batch_size: int
    _problem: Any = dataclasses.field(default=None, repr=False, compare=False)

    def __post_init__(self):
        if not isinstance(self.runs, RunGrid | ExplicitRuns):
            self.runs = ExplicitRuns(self.runs)

    def __getstate__(self) -> dict[str, Any]:  # the problem's host data is rebuilt where it is used
        return {**self.__dict__, "_problem": None}

    def component(self, section: str) -> tuple[str, dict[str, Any]]:
        values = dict(self.config[section])
        return values.pop("name"), values

    def dynamic_arrays_at(self, indices: Sequence[int], dtype) -> dict[str, np.ndarray]:
        """The vmapped values of the runs with these experiment indices, without building the runs."""
        return {key: np.asarray(self.runs.values(indices, key), dtype=dtype) for key in self.vmapped}

    def problem_instance(self):
        """A host-side problem with the group's values (vmapped fields at their first value); built once."""
        if self._problem is None:
            problems = _registries()[0]
            name, values = self.component("problem")
            self._problem = problems.get(name)(**values)
        return self._problem

    def sampler_kind(self) -> str:
        kind = self.config["sampler"]["name"]
        if kind == "auto":
            return "stream" if self.problem_instance().is_stream else "with_replacement"
        return kind

    def check_problem(self, cap: tuple[int, str], itemsize: int) -> None:
        """The problem's rules between fields and the memory its data and batches need, from its values alone
        (before :meth:`problem_instance` builds anything)."""
        problems = _registries()[0]
        name, values = self.component("problem")
        cls = problems.get(name)
        cls.check(values)
        check_problem_memory(cls, values, self.batch_size, cap, itemsize)

    def check_probe_needs(self, spec: Spec) -> None:
        """Every probe's declared capabilities (:attr:`ProbeEntry.needs`) are the problem's (raises SpecError)."""
        probes = _registries()[4]
        problem = self.problem_instance()
        for i, item in enumerate(spec.probes):
            name, _ = probe_name_options(item, f"probes[{i}]")
            unmet = probes.get(name).unmet(problem)
            if unmet:
                wanted = "; ".join((need.__doc__ or need.__name__).strip().splitlines()[0] for need in unmet)
                raise SpecError(f"probes[{i}]", name, f"needs a problem with {wanted}; {problem.name!r} has none")

    def check_optimizer_needs(self) -> None:
        """An optimizer asking for ``risk_fn`` needs a problem with a monitored objective (raises SpecError)."""
        optimizers = _registries()[1]
        name, _ = self.component("optimizer")
        problem = self.problem_instance()
        if "risk_fn" in optimizers.get(name).extra_args and problem.monitor is None:
            raise SpecError(
                "optimizer.name",
                name,
                f"needs a problem with a monitor metric; {problem.name!r} has none",
            )

    def check_data_source(self) -> None:
        problem = self.problem_instance()
        kind = self.sampler_kind()
        if problem.is_stream and kind != "stream":
            raise SpecError("sampler.name", kind, f"problem {problem.name!r} is a stream; allowed: 'stream', 'auto'")
        if not problem.is_stream:
            if kind == "stream":
                raise SpecError(
                    "sampler.name",
                    kind,
                    f"problem {problem.name!r} has a finite dataset; allowed: "
                    "with_replacement, random_reshuffling, single_shuffle, incremental, full_batch, auto",
                )
            if kind != "full_batch" and self.batch_size > problem.n_examples:
                raise SpecError(
                    "run.batch_size",
                    self.batch_size,
                    f"at most the dataset size {problem.n_examples} of {problem.name!r}",
                )


@dataclasses.dataclass(frozen=True)
class Identity:
    """How a plan's runs are stored: the experiment's id, name and description, and the record kept as its spec."""

    experiment: str
    name: str
    description: str
    record: dict[str, Any]


@dataclasses.dataclass
class Plan:
    """A validated spec expanded into groups of runs: what the engine executes, built once per spec.

    :meth:`from_spec` is the only validator of a spec's content (its structure is pydantic's, see
    :func:`~descentlab.engine.spec.parse_spec`): component names and parameters, probes, run count,
    checkpoints, each group's problem rules, data source and memory, the metrics the probes record (one
    traced run per problem: a probe the problem cannot serve, or two probes reporting one metric, is a
    :class:`SpecError`) and the ``[theory]`` section. The plan is kept on the spec, so whoever is handed the
    spec again (the runner, an executor) gets the same plan, and each group's :class:`GroupProgram` is built
    once, by :meth:`program`.
    """

    spec: Spec
    groups: list[Group]
    axes: list[str]  # swept "section.field" in enumeration order
    checkpoints: np.ndarray = dataclasses.field(init=False)
    metrics: frozenset[str] = frozenset()
    """The metrics every run records (``batch_loss`` and the probes'), known once the plan is validated."""
    identity: Identity | None = None
    """How the runs are stored; by default the spec's own (:meth:`stored_as`). A search's plan, whose runs are its
    candidates rather than the spec's product grid, names its experiment itself."""

    def __post_init__(self):
        self.checkpoints = checkpoint_steps(self.spec.run.steps, self.spec.run.checkpoints, self.spec.run.spacing)
        self._programs: dict[int, GroupProgram] = {}

    @classmethod
    def from_spec(cls, spec: Spec) -> Plan:
        """The spec's plan, validated (raises :class:`SpecError`); the same object on every call for one spec."""
        kept = spec._plan
        if kept is not None and kept.spec is spec:
            return kept
        validate_components(spec)
        the_plan = _expand(spec)
        cap = memory_cap(spec)
        for group in the_plan.groups:
            group.check_problem(cap, 8 if spec.run.dtype == "float64" else 4)
            group.check_data_source()
            group.check_probe_needs(spec)
            group.check_optimizer_needs()
        the_plan.metrics = frozenset(recorded_metrics(the_plan))
        if spec.theory is not None:
            theory_spec.validate_theory(spec, the_plan)
        spec._plan = the_plan
        return the_plan

    @property
    def n_runs(self) -> int:
        return sum(len(g.runs) for g in self.groups)

    @property
    def stored_as(self) -> Identity:
        """The experiment the runs are stored in: the plan's :attr:`identity`, else the spec's content hash, name,
        description and dict."""
        if self.identity is not None:
            return self.identity
        return Identity(self.spec.content_hash(), self.spec.name, self.spec.description, self.spec.to_dict())

    def program(self, group: int) -> GroupProgram:
        """Group ``group``'s program (built on first use, then kept)."""
        if group not in self._programs:
            self._programs[group] = GroupProgram(self.spec, self.groups[group], self.checkpoints)
        return self._programs[group]

    def __getstate__(self) -> dict[str, Any]:  # programs hold problem data and traced functions: rebuilt where used
        return {**self.__dict__, "_programs": {}}


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _expand(spec: Spec) -> Plan:
    """Expand the spec's sweep axes into groups of runs (see the module docstring); nothing validated."""
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

    paths = [a for a, _ in axes]
    short = _short_labels(paths)
    sizes = [len(values) for _, values in axes]
    name_axes = [a for a, path in enumerate(paths) if path.endswith(".name")]
    groups: dict[tuple, Group] = {}
    for name_combo in itertools.product(*(range(sizes[a]) for a in name_axes)):
        names = {s: base[s]["name"] for s in SECTIONS}
        for a, i in zip(name_axes, name_combo, strict=True):
            names[paths[a].split(".", 1)[0]] = axes[a][1][i]
        declared = {s: declared_params(s, names[s]) for s in SECTIONS}
        param_of = functools.partial(_declared_param, declared)
        # A swept float the component declares vmappable is a vmapped axis; every other axis is static.
        vmapped_axes = [
            a
            for a, path in enumerate(paths)
            if a not in name_axes and path != "run.batch_size" and param_of(path) is not None and param_of(path).vmapped
        ]
        other_static = [a for a in range(len(paths)) if a not in name_axes and a not in vmapped_axes]
        coerced_vmapped = {a: tuple(param_of(paths[a]).coerce(paths[a], v) for v in axes[a][1]) for a in vmapped_axes}
        vmapped_paths = {paths[a] for a in vmapped_axes}
        for other_combo in itertools.product(*(range(sizes[a]) for a in other_static)):
            chosen = dict(zip(name_axes, name_combo, strict=True)) | dict(zip(other_static, other_combo, strict=True))
            config = {s: dict(base[s]) for s in SECTIONS}
            for a, i in chosen.items():
                section, field = paths[a].split(".", 1)
                if section != "run":
                    config[section][field] = axes[a][1][i]
            for a in vmapped_axes:  # the group's config holds a vmapped field's first value
                section, field = paths[a].split(".", 1)
                config[section][field] = axes[a][1][0]
            batch_size = int(
                axes[paths.index("run.batch_size")][1][chosen[paths.index("run.batch_size")]]
                if "run.batch_size" in paths
                else spec.run.batch_size
            )
            # Coerce and complete with defaults; the static values (swept static ones included) key the group.
            static_key: list[Any] = [batch_size]
            for section in SECTIONS:
                completed = {"name": names[section]}
                for field, param in declared[section].items():
                    if field in config[section]:
                        completed[field] = param.coerce(f"{section}.{field}", config[section][field])
                    elif param.default is not None:
                        completed[field] = param.default
                config[section] = completed
                for field, value in completed.items():
                    if f"{section}.{field}" not in vmapped_paths:
                        static_key.append((f"{section}.{field}", value))
            key = tuple(static_key)
            if key not in groups:
                grid = RunGrid(
                    paths, sizes, spec.run.seeds, [short[p] for p in paths], names["optimizer"], coerced_vmapped
                )
                groups[key] = Group(len(groups), config, tuple(paths[a] for a in vmapped_axes), grid, batch_size)
            static_values = {}
            for a, i in chosen.items():
                section, field = paths[a].split(".", 1)
                static_values[a] = (i, batch_size if paths[a] == "run.batch_size" else config[section][field])
            groups[key].runs.add_block(static_values)
    # Groups in the order of their first run, as the runs are enumerated.
    ordered = sorted(groups.values(), key=lambda g: g.runs[0].index)  # a group's first run has its smallest index
    for i, group in enumerate(ordered):
        group.index = i
    return Plan(spec, ordered, paths)


def _declared_param(declared: dict[str, dict[str, Param]], path: str) -> Param | None:
    section, field = path.split(".", 1)
    return declared[section].get(field) if section in declared else None


def _short_labels(paths: Iterable[str]) -> dict[str, str]:
    paths = list(paths)
    fields = [p.split(".", 1)[1] for p in paths]
    out = {}
    for path, field in zip(paths, fields, strict=True):
        short = SHORT_NAMES.get(field, field)
        out[path] = path if fields.count(field) > 1 else short
    return out
