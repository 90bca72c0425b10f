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
"""

from __future__ import annotations

import os

import jax

ENVIRONMENT = "DESCENTLAB_HOST_DEVICES"
XLA_FLAG = "--xla_force_host_platform_device_count"


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
    if count is None or backends_initialized():
        return None
    jax.config.update("jax_num_cpu_devices", count)
    return count


def check() -> None:
    """Raise the :class:`~descentlab.params.SpecError` of a malformed ``DESCENTLAB_HOST_DEVICES``, if any."""
    if _problem is not None:
        raise _problem
