"""Executors: who computes the chunks of a sweep.

A chunk task is pure data — the spec, a group index and run indices — so any executor can rebuild
the same program from it, and a run's result depends only on its identity (its key is derived from
its seed index), never on which executor or which chunk computed it. The driver alone writes the
store. ``LocalExecutor`` runs in process and keeps one compiled program per static group.

Memory decides only how many vmap blocks of a chunk run in one compiled call (the most that fit the
budget next to the chunk's results on the host); a chunk runs in as many calls as it needs, and
since every block is the same width-``width`` program, the rows are the same bits however it is cut.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterator, Sequence
from typing import Any

import jax
import numpy as np
from threadpoolctl import threadpool_limits

from descentlab.engine.plan import Plan
from descentlab.engine.program import GroupProgram
from descentlab.engine.spec import Spec

DEFAULT_MEMORY_FRACTION = 0.25


@dataclasses.dataclass(frozen=True)
class ChunkTask:
    """Runs ``runs`` (experiment run indices) of static group ``group``: at most ``size`` runs.

    ``width`` is the vmap block width (see :meth:`GroupProgram.batched`); ``size`` is a multiple of it.
    """

    group: int
    runs: tuple[int, ...]
    size: int
    width: int
    chunk_id: str


@dataclasses.dataclass
class ChunkResult:
    task: ChunkTask
    curves: dict[str, np.ndarray]  # metric -> (n_runs, n_checkpoints)
    divergence_step: np.ndarray  # (n_runs,), -1 when the run did not diverge
    compile_seconds: float
    run_seconds: float


def usable_devices(blocks: int) -> list:
    """The local devices to shard ``blocks`` vmap blocks over (as many as divide them evenly)."""
    devices = jax.devices()
    n = len(devices)
    while n > 1 and blocks % n:
        n -= 1
    return devices[:n]


def blas_single_threaded() -> threadpool_limits:
    """Context in which compiled programs run: OpenBLAS (which XLA's CPU LAPACK calls — SVD, eigh —
    go through) limited to one thread, so that its threads do not fight XLA's own thread pool for the
    cores. Measured on 2 cores: an SVD of a 64 × 133 matrix at each of 100 checkpoints of a training
    loop cost ~6.8 ms each with OpenBLAS's default threads, ~1 ms with one."""
    return threadpool_limits(limits=1, user_api="blas")


def dtype_of(spec: Spec):
    return np.float64 if spec.run.dtype == "float64" else np.float32


def available_memory_bytes() -> int:
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return 4 << 30


def memory_budget_bytes(spec: Spec) -> int:
    """``run.memory_budget_mb``, else a quarter of the memory free now."""
    if spec.run.memory_budget_mb is not None:
        return int(spec.run.memory_budget_mb * 2**20)
    return int(available_memory_bytes() * DEFAULT_MEMORY_FRACTION)


def memory_per_run(spec: Spec, program: GroupProgram) -> tuple[int, int]:
    """(device bytes, host bytes) one run of a chunk needs (conservative estimates)."""
    with jax.enable_x64(spec.run.dtype == "float64"):
        return program.bytes_per_run(dtype_of(spec)), program.host_bytes_per_run()


def blocks_that_fit(spec: Spec, program: GroupProgram, size: int, width: int) -> int:
    """How many vmap blocks of ``width`` runs fit the budget beside a chunk of ``size`` runs' results on
    the host (0 or less: not even one)."""
    device, host = memory_per_run(spec, program)
    return (memory_budget_bytes(spec) - size * host) // max(width * device, 1)


def blocks_per_call(spec: Spec, program: GroupProgram, size: int, width: int) -> int:
    """Vmap blocks per compiled call: the largest divisor of the chunk's blocks that fits (at least 1),
    so that a full chunk needs no padding."""
    blocks = size // width
    fit = max(1, min(blocks, blocks_that_fit(spec, program, size, width)))
    return max(k for k in range(1, fit + 1) if blocks % k == 0)


class ProgramCache:
    """Builds, compiles and runs group programs for one spec (compiling once per group and size)."""

    def __init__(self, spec: Spec, the_plan: Plan | None = None):
        self.spec = spec
        self.plan = the_plan or Plan.from_spec(spec)
        self.checkpoints = self.plan.checkpoints
        self._compiled: dict[tuple[int, int, int, int], Any] = {}
        self._calls: dict[tuple[int, int, int], int] = {}

    def program(self, group: int) -> GroupProgram:
        return self.plan.program(group)

    def call_size(self, task: ChunkTask) -> int:
        """Runs per compiled call for the task's chunks (whole vmap blocks that fit the memory budget)."""
        key = (task.group, task.size, task.width)
        if key not in self._calls:
            blocks = blocks_per_call(self.spec, self.program(task.group), task.size, task.width)
            self._calls[key] = blocks * task.width
        return self._calls[key]

    def execute(self, task: ChunkTask) -> ChunkResult:
        """Run one chunk in calls of :meth:`call_size` runs (the last padded by repeating its last run)."""
        dtype = dtype_of(self.spec)
        with jax.enable_x64(self.spec.run.dtype == "float64"):
            program = self.program(task.group)
            call = self.call_size(task)
            devices = usable_devices(call // task.width)
            key = (task.group, call, task.width, len(devices))
            compile_seconds = 0.0
            if key not in self._compiled:
                start = time.perf_counter()
                self._compiled[key] = program.compile(call, dtype, task.width, devices)
                compile_seconds = time.perf_counter() - start
            n = len(task.runs)
            padded = list(task.runs) + [task.runs[-1]] * (-n % call)
            seeds = program.group.runs.seeds_of(padded).astype(np.int32)
            hparams = program.group.dynamic_arrays_at(padded, dtype)
            start = time.perf_counter()
            with blas_single_threaded():
                outs = [self._call(key, seeds, hparams, at, call) for at in range(0, len(padded), call)]
            run_seconds = time.perf_counter() - start
        curves = {k: np.concatenate([o["curves"][k] for o in outs])[:n] for k in outs[0]["curves"]}
        steps = np.concatenate([o["divergence_step"] for o in outs])[:n]
        return ChunkResult(task, curves, steps, compile_seconds, run_seconds)

    def _call(self, key: tuple[int, int, int, int], seeds: np.ndarray, hparams: Any, at: int, call: int) -> dict:
        """One compiled call on runs ``at … at + call`` of the padded chunk, brought back to the host."""
        piece = jax.tree_util.tree_map(lambda a: a[at : at + call], (seeds, hparams))
        out = jax.block_until_ready(self._compiled[key](*piece))
        return jax.tree_util.tree_map(np.asarray, out)


class LocalExecutor:
    """In-process execution, chunk after chunk (nothing to start)."""

    name = "local"

    def map(self, spec: Spec, the_plan: Plan, tasks: Sequence[ChunkTask]) -> Iterator[ChunkResult]:
        cache = ProgramCache(spec, the_plan)
        for task in tasks:
            yield cache.execute(task)
