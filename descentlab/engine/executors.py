"""Executors: who computes the chunks of a sweep.

A chunk task is pure data — the spec, a group index and run indices — so any executor can rebuild
the same program from it, and a run's result depends only on its identity (its key is derived from
its seed index), never on which executor or which chunk computed it. The driver alone writes the
store. ``LocalExecutor`` runs in process and keeps one compiled program per static group.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator, Sequence
from typing import Any

import jax
import numpy as np
from threadpoolctl import threadpool_limits

from descentlab.engine.plan import Plan, checkpoint_steps, plan
from descentlab.engine.program import GroupProgram
from descentlab.engine.spec import Spec


@dataclasses.dataclass(frozen=True)
class ChunkTask:
    """Runs ``runs`` (experiment run indices) of static group ``group``, padded to ``size``.

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


class ProgramCache:
    """Builds, compiles and runs group programs for one spec (compiling once per group and size)."""

    def __init__(self, spec: Spec, the_plan: Plan | None = None):
        self.spec = spec
        self.plan = the_plan or plan(spec)
        self.checkpoints = checkpoint_steps(spec.run.steps, spec.run.checkpoints, spec.run.spacing)
        self._programs: dict[int, GroupProgram] = {}
        self._compiled: dict[tuple[int, int], Any] = {}

    def program(self, group: int) -> GroupProgram:
        if group not in self._programs:
            self._programs[group] = GroupProgram(self.spec, self.plan.groups[group], self.checkpoints)
        return self._programs[group]

    def execute(self, task: ChunkTask) -> ChunkResult:
        x64 = self.spec.run.dtype == "float64"
        dtype = dtype_of(self.spec)
        with jax.enable_x64(x64):
            program = self.program(task.group)
            compile_seconds = 0.0
            devices = usable_devices(task.size // task.width)
            key = (task.group, task.size, task.width, len(devices))
            if key not in self._compiled:
                start = time.perf_counter()
                self._compiled[key] = program.compile(task.size, dtype, task.width, devices)
                compile_seconds = time.perf_counter() - start
            padded = list(task.runs) + [task.runs[-1]] * (task.size - len(task.runs))
            seeds = program.group.runs.seeds_of(padded).astype(np.int32)
            hparams = program.group.dynamic_arrays_at(padded, dtype)
            start = time.perf_counter()
            with blas_single_threaded():
                out = jax.block_until_ready(self._compiled[key](seeds, hparams))
            run_seconds = time.perf_counter() - start
        n = len(task.runs)
        curves = {k: np.asarray(v)[:n] for k, v in out["curves"].items()}
        return ChunkResult(task, curves, np.asarray(out["divergence_step"])[:n], compile_seconds, run_seconds)


class LocalExecutor:
    """In-process execution, chunk after chunk (nothing to start)."""

    name = "local"

    def map(self, spec: Spec, the_plan: Plan, tasks: Sequence[ChunkTask]) -> Iterator[ChunkResult]:
        cache = ProgramCache(spec, the_plan)
        for task in tasks:
            yield cache.execute(task)
