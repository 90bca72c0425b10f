"""Ray executor: each chunk is a Ray task; the driver alone writes the store.

A task carries only data — the driver's validated :class:`Plan` (put in Ray's object store once; its
programs are not shipped) and a :class:`ChunkTask` — and a worker builds the group's program from it
(keeping compiled programs between tasks of the same plan), so a run's rows are the same bits whichever
executor, worker or chunk computed them, and a search's plan (its candidates, not a product grid) runs
on Ray like any other. Failed tasks (a dead worker,
an exception) are retried by Ray up to ``max_retries`` times; results are consumed as they finish,
and each is stored before the next is awaited, so an interrupted sweep resumes where it stopped.
Only a lost worker is retried: an exception raised by the chunk's own code would raise again, so it
is not retried and comes back to the driver as the same exception (the same one-line error as a
local run), not as Ray's wrapper with the worker's traceback.

``address``: ``None`` starts a local Ray instance in process; ``"auto"`` or ``"HOST:PORT"`` joins a
running cluster (``ray start --head``). A ``HOST:PORT`` that nothing answers is refused at once (Ray
itself would keep retrying for minutes).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator, Sequence
from typing import Any

from descentlab.engine.executors import ChunkResult, ChunkTask, ProgramCache
from descentlab.engine.plan import Plan
from descentlab.engine.spec import Spec
from descentlab.params import SpecError

CONNECT_TIMEOUT_S = 5.0

_CACHES: dict[str, ProgramCache] = {}


def execute_chunk(the_plan: Plan, task: ChunkTask) -> ChunkResult:
    """Worker side: run one chunk of the driver's plan (its programs built, and kept, here)."""
    key = the_plan.stored_as.experiment
    if key not in _CACHES:
        _CACHES.clear()  # one plan at a time per worker process keeps memory bounded
        _CACHES[key] = ProgramCache(the_plan.spec, the_plan)
    return _CACHES[key].execute(task)


class RayExecutor:
    """Chunks as Ray tasks, retried on failure, consumed as they complete."""

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        num_cpus_per_task: float = 1.0,
        max_retries: int = 3,
        max_in_flight: int | None = None,
        init_kwargs: dict[str, Any] | None = None,
    ):
        if address is not None and address != "auto":
            check_reachable(address)
        self.address = address
        self.num_cpus_per_task = num_cpus_per_task
        self.max_retries = max_retries
        self.max_in_flight = max_in_flight
        self.init_kwargs = init_kwargs or {}

    def _ensure_ray(self):
        try:
            import ray
        except ImportError as err:  # pragma: no cover - depends on the install
            raise RuntimeError("the ray executor needs Ray: pip install 'descentlab[ray]'") from err
        if not ray.is_initialized():
            kwargs = {"include_dashboard": False, "log_to_driver": False, **self.init_kwargs}
            if self.address is not None:
                kwargs["address"] = self.address
            ray.init(**kwargs)
        return ray

    def map(self, spec: Spec, the_plan: Plan, tasks: Sequence[ChunkTask]) -> Iterator[ChunkResult]:
        ray = self._ensure_ray()
        remote = ray.remote(num_cpus=self.num_cpus_per_task, max_retries=self.max_retries, retry_exceptions=False)(
            execute_chunk
        )
        plan_ref = ray.put(the_plan)
        limit = self.max_in_flight or max(2, int(ray.cluster_resources().get("CPU", 2) / self.num_cpus_per_task) * 2)
        queue = list(tasks)
        pending: list = []
        while queue or pending:
            while queue and len(pending) < limit:
                pending.append(remote.remote(plan_ref, queue.pop(0)))
            done, pending = ray.wait(pending, num_returns=1)
            try:
                result = ray.get(done[0])
            except ray.exceptions.RayTaskError as err:
                for ref in pending:
                    ray.cancel(ref)
                raise _cause(err) from None
            yield result


def _cause(err: Exception) -> BaseException:
    """The exception a task's own code raised, as the driver would have raised it locally."""
    cause = getattr(err, "cause", None)
    return cause if isinstance(cause, BaseException) else err


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Raise :class:`SpecError` unless something accepts a TCP connection at ``HOST:PORT``."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SpecError("--address", address, "expected 'auto' or HOST:PORT of a running Ray cluster")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as err:
        raise SpecError(
            "--address",
            address,
            f"no Ray cluster answers there ({err.strerror or err}); start "
            "one with `ray start --head`, or leave --address out for a local instance",
        ) from None
