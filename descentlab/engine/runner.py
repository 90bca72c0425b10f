"""Running a spec: plan → chunks → executor → store, resumable and honest about time.

The store is the source of truth: each finished chunk is written before the next one is reported,
a re-run computes only the runs not yet stored — damaged chunks are quarantined and computed again,
``force`` recomputes everything — and a diverged run is a row with ``status = 'diverged'`` and its
``divergence_step``, never an exception. Chunk boundaries are a function of the spec alone, so two
processes running one spec agree on chunk ids and never store a run twice. Nothing is written before
the plan, the chunk sizes (with the memory pre-flight) and the theory section are validated.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
import platform
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import numpy as np
import pyarrow as pa

from descentlab.engine.executors import (
    ChunkResult,
    ChunkTask,
    LocalExecutor,
    ProgramCache,
    blocks_that_fit,
    memory_budget_bytes,
    memory_per_run,
)
from descentlab.engine.plan import SECTIONS, Plan
from descentlab.engine.program import GroupProgram
from descentlab.engine.spec import Spec
from descentlab.params import SpecError
from descentlab.store import Store, schema

MAX_CHUNK = 16_384
HOST_BYTES_PER_CHUNK = 16 << 20
"""Default chunk: the whole vmap blocks (a power of two of them) whose results take about this much host memory."""
MIN_BLOCKS_PER_CHUNK = 16
"""A default chunk holds at least this many vmap blocks when its group has them, so that up to 16 devices (one
per core, :mod:`descentlab.host_devices`) share every chunk. A constant: chunk boundaries stay a function of the
spec alone, whatever the machine."""


def _enable_compilation_cache() -> None:
    path = os.environ.get("DESCENTLAB_CACHE", str(Path.home() / ".cache" / "descentlab" / "jax"))
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)


def _use_system_allocator_for_arrow() -> None:
    """Arrow's default allocator (mimalloc) keeps what a chunk's tables and Parquet writes used; the
    system allocator gives it back, so a long sweep's resident memory stays at one chunk's worth
    (measured by ``benchmarks/memory.py``: growth over the baseline 40 MB → 20 MB, same runs/s)."""
    if pa.default_memory_pool().backend_name != "system":
        pa.set_memory_pool(pa.system_memory_pool())


def versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for package in ("descentlab", "jax", "jaxlib", "optax", "numpy", "scipy", "duckdb", "pyarrow"):
        try:
            out[package] = md.version(package)
        except md.PackageNotFoundError:
            out[package] = "not installed"
    return out


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def device_description() -> str:
    devices = jax.devices()
    return f"{len(devices)}× {devices[0].platform}:{devices[0].device_kind}"


DEFAULT_VMAP_WIDTH = {"cpu": 64, "gpu": 1024, "cuda": 1024, "rocm": 1024, "tpu": 1024}
"""Runs per vmap block by backend. On a CPU, 64 lets a sweep of a few hundred runs give every core (one host
device each) blocks; measured on 2 cores (execution seconds, 256 streaming-SGD runs d = 500 × 2 000 steps / 4 096
fractal_net runs × 500 steps): one device, width 64: 2.13 / 0.84 against width 256: 1.98 / 0.81 (+7 % / +4 %);
two devices, width 64: 0.83 / 0.49."""


def vmap_width(spec: Spec, n_runs: int) -> int:
    """Runs per vmap block: ``run.vmap_width``, else a per-platform default, at most the group size.

    It depends only on the spec, the group and the platform — never on chunking — so a run's
    result does not depend on which chunk, executor or device count computed it.
    """
    width = spec.run.vmap_width or DEFAULT_VMAP_WIDTH.get(jax.default_backend(), 64)
    return max(1, min(width, 1 << max(0, (n_runs - 1).bit_length())))


def chunk_tasks(the_plan: Plan, done: set[int], sizes: dict[int, tuple[int, int]]) -> list[ChunkTask]:
    """Split every group's not-yet-stored runs into chunks of its (size, width)."""
    tasks = []
    stored = np.fromiter(done, np.int64, len(done))
    for group in the_plan.groups:
        indices = group.runs.indices()
        todo = indices[~np.isin(indices, stored)].tolist()
        size, width = sizes[group.index]
        for start in range(0, len(todo), size):
            runs = tuple(todo[start : start + size])
            digest = hashlib.sha1(np.asarray(runs, np.int64).tobytes()).hexdigest()[:8]
            chunk_id = f"g{group.index:03d}-r{runs[0]:08d}-{runs[-1]:08d}-{digest}"
            tasks.append(ChunkTask(group.index, runs, size, width, chunk_id))
    return tasks


def chunk_size(spec: Spec, program: GroupProgram, width: int, n_runs: int) -> int:
    """Runs per chunk of a group of ``n_runs``: a function of the spec alone (never of memory or devices).

    ``run.chunk_size`` rounded up to whole vmap blocks, else the largest power of two of blocks whose
    results stay within :data:`HOST_BYTES_PER_CHUNK` on the host (at most :data:`MAX_CHUNK` runs), but at
    least :data:`MIN_BLOCKS_PER_CHUNK` blocks; never more blocks than the group needs.
    """
    if spec.run.chunk_size is not None:
        size = -(-spec.run.chunk_size // width) * width
    else:
        fitting = min(MAX_CHUNK, HOST_BYTES_PER_CHUNK // program.host_bytes_per_run())
        blocks = max(MIN_BLOCKS_PER_CHUNK, fitting // width)
        size = (1 << (blocks.bit_length() - 1)) * width
    return min(size, -(-n_runs // width) * width)


def check_memory(spec: Spec, program: GroupProgram, size: int, width: int) -> None:
    """Raise SpecError unless one vmap block fits the memory budget beside its chunk's results on the host."""
    if blocks_that_fit(spec, program, size, width) >= 1:
        return
    device, host = memory_per_run(spec, program)
    budget = memory_budget_bytes(spec)
    room = budget - size * host
    if room >= device:
        fix = f"set run.vmap_width <= {room // device} or "
    elif budget >= device + host:
        fix = f"set run.chunk_size and run.vmap_width <= {budget // (device + host)} or "
    else:
        fix = ""
    given = spec.run.memory_budget_mb if spec.run.memory_budget_mb is not None else f"{budget / 2**20:.1f} MiB (auto)"
    raise SpecError(
        "run.memory_budget_mb",
        given,
        f"one vmap block of {width} runs needs {(width * device + size * host) / 2**20:.1f} MiB with its "
        f"chunk's results ({size} runs) on the host; {fix}raise the budget",
    )


def chunk_sizes(spec: Spec, the_plan: Plan, cache: ProgramCache) -> dict[int, tuple[int, int]]:
    """(runs per chunk, vmap width) per group, after checking that one vmap block fits the memory budget."""
    sizes = {}
    for group in the_plan.groups:
        width = vmap_width(spec, len(group.runs))
        program = cache.program(group.index)
        size = chunk_size(spec, program, width, len(group.runs))
        check_memory(spec, program, size, width)
        sizes[group.index] = (size, width)
    return sizes


def _columns(spec: Spec, the_plan: Plan, result: ChunkResult, experiment: str) -> tuple[pa.Table, pa.Table]:
    """The chunk's rows of the ``runs`` and ``curves`` tables, built column by column."""
    group = the_plan.groups[result.task.group]
    runs = group.runs.at(result.task.runs)
    n = len(runs)
    from descentlab.optim import OPTIMIZERS

    steps = np.asarray(result.divergence_step[:n], np.int64)
    diverged = steps >= 0
    columns: dict[str, Any] = {
        "experiment": pa.array([experiment] * n, pa.string()),
        "run": np.asarray([r.index for r in runs], np.int64),
        "name": pa.array([r.name for r in runs], pa.string()),
        "group": np.full(n, group.index, np.int64),
        "seed": np.asarray([r.seed for r in runs], np.int64),
        "status": pa.array(np.where(diverged, schema.DIVERGED, schema.OK).tolist(), pa.string()),
        "divergence_step": pa.array(np.where(diverged, steps, 0), pa.int64(), mask=~diverged),
    }
    assert tuple(columns) == schema.RESERVED
    columns[schema.SECONDS_PER_STEP] = np.full(n, result.run_seconds / spec.run.steps, np.float64)
    assert tuple(columns) == (*schema.RESERVED, *schema.TIMING)
    for section in SECTIONS:
        for field, value in group.config[section].items():
            path = f"{section}.{field}"
            swept = path in the_plan.axes
            columns[schema.column(path)] = pa.array([r.swept[path] for r in runs] if swept else [value] * n)
    columns[schema.column("run.batch_size")] = np.full(n, group.batch_size, np.int64)
    for metric, curve in result.curves.items():
        columns[schema.final_column(metric)] = np.asarray(curve[:n, -1], np.float64)
    host_metrics = getattr(OPTIMIZERS.get(group.config["optimizer"]["name"]), "host_metrics", None)
    if host_metrics is not None:
        problem = group.problem_instance()
        n_examples = None if problem.is_stream else problem.n_examples
        per_run = []
        for run in runs:
            opt_values = {k: run.swept.get(f"optimizer.{k}", v) for k, v in group.config["optimizer"].items()}
            opt_values.pop("name")
            per_run.append(
                host_metrics(opt_values, steps=spec.run.steps, batch_size=group.batch_size, n_examples=n_examples)
            )
        for key in per_run[0] if per_run else ():
            columns[schema.column(f"optimizer.{key}")] = pa.array([values[key] for values in per_run])
    runs_table = pa.table(columns)

    n_runs, n_ckpt = next(iter(result.curves.values())).shape if result.curves else (n, 0)
    metrics = sorted(result.curves)
    if metrics:
        values = np.stack([result.curves[m] for m in metrics], axis=-1).astype(np.float64)  # (run, ckpt, metric)
        checkpoints = the_plan.checkpoints
        run_ids = np.repeat(columns["run"], n_ckpt * len(metrics))
        step_ids = np.tile(np.repeat(checkpoints, len(metrics)), n_runs)
        metric_ids = np.tile(np.arange(len(metrics), dtype=np.int32), n_runs * n_ckpt)
        flat = values.reshape(-1)
        keep = ~np.isnan(flat)
        curves_table = pa.table(
            {
                "experiment": pa.DictionaryArray.from_arrays(np.zeros(int(keep.sum()), np.int32), [experiment]),
                "run": run_ids[keep],
                "step": step_ids[keep],
                "metric": pa.DictionaryArray.from_arrays(metric_ids[keep], metrics),
                "value": flat[keep],
            }
        )
    else:
        curves_table = pa.table(
            {
                "experiment": pa.array([], pa.string()),
                "run": pa.array([], pa.int64()),
                "step": pa.array([], pa.int64()),
                "metric": pa.array([], pa.string()),
                "value": pa.array([], pa.float64()),
            }
        )
    return runs_table, curves_table


@dataclasses.dataclass
class RunSummary:
    experiment: str
    n_runs: int
    computed: int
    skipped: int
    diverged: int
    compile_seconds: float
    run_seconds: float
    store_seconds: float


ProgressFn = Callable[[int, int, int], None]  # (runs done, runs total, diverged so far)
TIMING_FIELDS = ("compile_seconds", "run_seconds", "store_seconds")
"""The experiment row's seconds, summed over the invocations that stored runs of it (its ``invocations``)."""


@dataclasses.dataclass
class _Tally:
    """What a run of chunks has done so far."""

    computed: int = 0
    diverged: int = 0
    compile_seconds: float = 0.0
    run_seconds: float = 0.0
    store_seconds: float = 0.0

    def timings(self, earlier: dict[str, float] | None = None) -> dict[str, float]:
        """The experiment row's timing fields: this invocation's seconds added to ``earlier`` ones (see
        :func:`_earlier_timings`), and ``invocations``, how many invocations' seconds the sums hold."""
        earlier = earlier or {}
        counted = earlier.get("invocations", 0) + (1 if self.computed else 0)
        return {key: earlier.get(key, 0.0) + getattr(self, key) for key in TIMING_FIELDS} | {"invocations": counted}


def _earlier_timings(previous: dict[str, Any] | None) -> dict[str, float]:
    """The seconds the experiment's earlier invocations recorded in its row (none after ``force``).

    A row written before ``invocations`` existed counts as one invocation when it holds times; an invocation
    killed outright (SIGKILL, power loss, not Ctrl-C) recorded none, so its own seconds are missing from the sums."""
    if previous is None:
        return {}
    times = {key: float(previous[key]) for key in TIMING_FIELDS if previous.get(key) is not None}
    counted = previous.get("invocations")
    return times | {"invocations": int(counted) if counted is not None else int(any(times.values()))}


def _resume_point(store: Store, experiment: str, force: bool) -> set[int]:
    """Make the experiment's folder ready to resume — forget it (``force``), drop dead writers' temporary
    folders, quarantine chunks that fail their check — and return the run indices stored whole."""
    if force:
        store.clear(experiment)
    store.clean_tmp(experiment)
    store.quarantine_damaged(experiment)
    return store.stored_runs(experiment)


def _base_row(spec: Spec, the_plan: Plan, store: Store, experiment: str, executor: Any) -> dict[str, Any]:
    """The experiment row's fields that do not change while it runs."""
    previous = store.experiment_row(experiment) if experiment in store.experiments() else None
    identity = the_plan.stored_as
    return {
        "experiment": experiment,
        "name": identity.name,
        "description": identity.description,
        "spec": _json(identity.record),
        "created_at": previous["created_at"] if previous else utc_now(),
        "n_runs": the_plan.n_runs,
        "n_groups": len(the_plan.groups),
        "versions": _json(versions()),
        "git_commit": git_commit(),
        "device": device_description(),
        "executor": getattr(executor, "name", type(executor).__name__),
        "dtype": spec.run.dtype,
        "steps": spec.run.steps,
    }


def _compute(
    spec: Spec,
    the_plan: Plan,
    store: Store,
    experiment: str,
    executor: Any,
    tasks: list[ChunkTask],
    done: int,
    tally: _Tally,
    progress: ProgressFn | None,
) -> None:
    """Run the tasks on the executor, storing each chunk as it comes back."""
    if progress:
        progress(done, the_plan.n_runs, 0)
    for result in executor.map(spec, the_plan, tasks):
        tally.compile_seconds += result.compile_seconds
        tally.run_seconds += result.run_seconds
        start = time.perf_counter()
        runs_table, curves_table = _columns(spec, the_plan, result, experiment)
        store.write_chunk(experiment, result.task.chunk_id, runs_table, curves_table)
        tally.store_seconds += time.perf_counter() - start
        tally.computed += len(result.task.runs)
        tally.diverged += int((result.divergence_step >= 0).sum())
        if progress:
            progress(done + tally.computed, the_plan.n_runs, tally.diverged)


def execute(
    the_plan: Plan,
    store: Store | str | Path = "runs",
    executor: Any = None,
    force: bool = False,
    progress: ProgressFn | None = None,
) -> RunSummary:
    """Run (or resume) every run of a validated plan and store it; returns what happened. The one run loop:
    ``descentlab run``, a study's experiments and a search's rounds all go through it.

    The experiment row says ``running`` (with this process's pid and host) once the chunk sizes have passed the
    memory check, ``complete`` or ``partial`` at the end, and ``interrupted`` after a KeyboardInterrupt (which
    is raised again). Its ``compile_seconds``, ``run_seconds`` and ``store_seconds`` are summed over the invocations
    that stored runs of it — a resumed experiment keeps its earlier invocations' seconds, and ``invocations`` says
    how many are summed (``force`` starts again from none); the returned :class:`RunSummary` holds this
    invocation's alone. Every run's row records its chunk's seconds per step (:data:`schema.SECONDS_PER_STEP`).
    Theory and verdicts are not the engine's: :func:`descentlab.analysis.check_theory` judges the stored runs
    afterwards.

    Args:
        the_plan: from :meth:`Plan.from_spec` (validated; its programs are reused).
        store: the store, or its folder.
        executor: a :class:`LocalExecutor` (default) or :class:`~descentlab.engine.ray_executor.RayExecutor`.
        force: recompute runs already stored.
        progress: called with (runs done, runs total, diverged so far) after every chunk.
    """
    _enable_compilation_cache()
    _use_system_allocator_for_arrow()
    spec = the_plan.spec
    store = store if isinstance(store, Store) else Store(store)
    executor = executor or LocalExecutor()
    sizes = chunk_sizes(spec, the_plan, ProgramCache(spec, the_plan))
    experiment = the_plan.stored_as.experiment
    previous = store.experiment_row(experiment) if experiment in store.experiments() and not force else None
    done = _resume_point(store, experiment, force)
    base_row = _base_row(spec, the_plan, store, experiment, executor)
    earlier = _earlier_timings(previous)
    tally = _Tally()
    store.write_experiment(
        experiment,
        {**base_row, "status": "running", "finished_at": None, **tally.timings(earlier), "diverged": None},
        the_plan.stored_as.record,
    )
    try:
        _compute(
            spec, the_plan, store, experiment, executor, chunk_tasks(the_plan, done, sizes), len(done), tally, progress
        )
    except KeyboardInterrupt:
        store.write_experiment(
            experiment,
            {**base_row, "status": "interrupted", "finished_at": utc_now(), **tally.timings(earlier), "diverged": None},
        )
        raise
    counts = store.status_counts(experiment)
    stored = sum(counts.values())
    store.write_experiment(
        experiment,
        {
            **base_row,
            "status": "complete" if stored == the_plan.n_runs else "partial",
            "finished_at": utc_now(),
            **tally.timings(earlier),
            "diverged": counts.get(schema.DIVERGED, 0),
        },
    )
    return RunSummary(
        experiment,
        the_plan.n_runs,
        tally.computed,
        len(done),
        counts.get(schema.DIVERGED, 0),
        tally.compile_seconds,
        tally.run_seconds,
        tally.store_seconds,
    )


def run_spec(
    spec: Spec,
    store: Store | str | Path = "runs",
    force: bool = False,
    executor: Any = None,
    progress: ProgressFn | None = None,
) -> RunSummary:
    """:func:`execute` the spec's plan (validated on first use, then kept with the spec)."""
    return execute(Plan.from_spec(spec), store, executor=executor, force=force, progress=progress)


def utc_now() -> str:
    """The current time in UTC, ISO 8601 to the second (the experiment rows' timestamps)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _json(obj: Any) -> str:
    import json

    return json.dumps(obj, sort_keys=True, default=str)
