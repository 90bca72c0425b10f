"""One JAX device per CPU core, by default.

XLA's CPU backend is one device whose thread pool parallelizes inside an operation (a large matrix
product) but not across the independent runs of a vmapped sweep: the Gaussian sampling (threefry) and
the small per-run products that dominate a streaming-SGD sweep then run on one core. Splitting the
host into one device per core and sharding a chunk's vmap blocks over them (:meth:`GroupProgram.batched`
uses ``shard_map``) gives every core its share. Results do not change: every block is the same
width-``w`` program whichever device runs it, so the rows are bit-identical to a one-device run.

The count must be set before JAX initializes its backends (the first ``jax.devices()`` or array), so
:func:`configure` runs when ``descentlab`` is imported. Precedence:

1. ``DESCENTLAB_HOST_DEVICES=N`` in the environment (``1`` restores the single device);
2. a count the user set already: ``--xla_force_host_platform_device_count`` in ``XLA_FLAGS``, or the
   ``jax_num_cpu_devices`` option changed from its default;
3. else the cores this process may run on (``os.sched_getaffinity``; ``os.cpu_count`` elsewhere).

If JAX's backends were initialized before ``descentlab`` was imported the count cannot change any
more and is left as it is. GPU and TPU backends are unaffected (the setting concerns the host platform).

**The intra-op thread pool.** All host devices share one XLA thread pool ("XLAEigen"), which XLA sizes
from ``PJRT_NPROC`` (else ``NPROC``, else the cores). A device's program runs on that pool once a loop or
a parallel kernel has handed it there, and jaxlib's batched LAPACK kernels (``eigh``, ``svd``, ``qr``, LU,
triangular solves — what ``vmap`` makes of ``jnp.linalg``) split a large enough batch (≥ 2·10⁵ FLOP) into
tasks *on that same pool* and block until they are done (``ParallelBatchMap`` in jaxlib's
``lapack_kernels.cc``). With one device per core and a pool of one thread per core, every pool thread can
be such a waiting kernel, one per device, and nothing is left to run the tasks they wait for: the
program never returns (found with the ``sharpness`` probe: the Ritz ``eigh`` of 64 runs × 20 Lanczos
steps, on 2 devices of a 2-core machine; the threads' native stacks show both ``tf_XLAEigen`` threads in
``ParallelBatchMap`` → ``BlockingCounter::Wait``, see ``tests/engine/test_thread_pool.py``). The same
re-entrant wait on the intra-op pool is reported for XLA's FFT thunk (PyAutoLabs/PyAutoFit#1530), and
jax-ml/jax#39292 shows the batched LAPACK kernels scheduling on the pool in jaxlib 0.10.2.

So with N > 1 host devices descentlab sets ``PJRT_NPROC`` = cores + N (unless ``PJRT_NPROC`` or ``NPROC``
is set already; it also sizes the client's dispatch pool): with one thread per device waiting in such a
kernel, as many threads as there are cores remain to run its tasks (a one-device client keeps cores − 1).
The pool size changes no result: each LAPACK task computes whole matrices, and stored runs were
bit-identical with pools of 2 and 4 threads (2 devices, no parallel LAPACK) and with pools of 3 and 4
against one device (``sharpness`` with 20 Lanczos steps, 128 runs). Measured on the shared 2-core machine,
2 devices: a streaming-SGD sweep (128 runs, d = 128, 3 000 steps) ran in 14.4–17.6 s with 4 threads against
14.7–23.1 s with 2 (interleaved, 3 pairs); the sweep with ``sharpness`` ran in 7.0 s against 9.4 s on one
device, and hung with 2 threads. With one device the pool is left at XLA's default. Child processes
inherit the variable with a marker (:data:`POOL_MARKER`), so their own :func:`configure` recomputes it for
their device count.
"""

from __future__ import annotations

import os
import re

import jax

ENVIRONMENT = "DESCENTLAB_HOST_DEVICES"
XLA_FLAG = "--xla_force_host_platform_device_count"
POOL_ENVIRONMENT = "PJRT_NPROC"
"""XLA's CPU client sizes its thread pools from this variable (else ``NPROC``, else the cores) when it is created."""
POOL_MARKER = "DESCENTLAB_PJRT_NPROC"
"""Holds the ``PJRT_NPROC`` value descentlab set, so that a child process tells it from a user's own setting."""


def available_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def requested_count(environ: dict[str, str] | os._Environ = os.environ) -> int | None:
    """The host device count descentlab should set, or None to leave JAX's own setting alone."""
    text = environ.get(ENVIRONMENT, "").strip()
    if text:
        if not text.isdigit() or int(text) < 1:
            from descentlab.params import SpecError

            raise SpecError(ENVIRONMENT, text, "a whole number of host devices >= 1")
        return int(text)
    if XLA_FLAG in environ.get("XLA_FLAGS", "") or jax.config.jax_num_cpu_devices != -1:
        return None
    return available_cores()


def device_count(environ: dict[str, str] | os._Environ = os.environ) -> int | None:
    """The host device count the user set (``XLA_FLAGS``, ``jax_num_cpu_devices``), or None when unset."""
    found = re.search(rf"{XLA_FLAG}=(\d+)", environ.get("XLA_FLAGS", ""))
    if found:
        return int(found.group(1))
    configured = jax.config.jax_num_cpu_devices
    return configured if configured != -1 else None


def pool_threads(devices: int, cores: int) -> int | None:
    """Intra-op pool threads for ``devices`` host devices on ``cores`` cores: cores + devices when there are
    several devices (each may hold one thread waiting in a batched LAPACK kernel), else None (XLA's default)."""
    return cores + devices if devices > 1 else None


def configure_pool(devices: int | None, environ: dict[str, str] | os._Environ = os.environ) -> int | None:
    """Set ``PJRT_NPROC`` for ``devices`` host devices (see the module docstring); returns the size set, or None.

    A ``PJRT_NPROC`` or ``NPROC`` of the user's own is kept; one descentlab set in a parent process (it equals
    :data:`POOL_MARKER`) is recomputed, and removed where this process has a single device."""
    ours = POOL_ENVIRONMENT in environ and environ.get(POOL_MARKER) == environ[POOL_ENVIRONMENT]
    if ours:
        del environ[POOL_ENVIRONMENT]
    environ.pop(POOL_MARKER, None)
    if POOL_ENVIRONMENT in environ or "NPROC" in environ or devices is None:
        return None
    threads = pool_threads(devices, available_cores())
    if threads is not None:
        environ[POOL_ENVIRONMENT] = environ[POOL_MARKER] = str(threads)
    return threads


def backends_initialized() -> bool:
    """Whether JAX has created its backends already (after which the device count is fixed)."""
    from jax._src import xla_bridge

    return bool(getattr(xla_bridge, "_backends", None))


_problem: Exception | None = None


def configure() -> int | None:
    """Set JAX's host device count (see the module docstring); returns the count set, or None.

    Runs at import, so it never raises: a malformed ``DESCENTLAB_HOST_DEVICES`` is kept for :func:`check`."""
    global _problem
    try:
        count = requested_count()
    except ValueError as err:
        _problem = err
        return None
    if backends_initialized():
        return None
    configure_pool(device_count() if count is None else count)
    if count is None:
        return None
    jax.config.update("jax_num_cpu_devices", count)
    return count


def check() -> None:
    """Raise the :class:`~descentlab.params.SpecError` of a malformed ``DESCENTLAB_HOST_DEVICES``, if any."""
    if _problem is not None:
        raise _problem
