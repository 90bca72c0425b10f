"""A sweep with a batched LAPACK call per run, sharded over one host device per core, returns.

Before :func:`descentlab.host_devices.configure_pool`, XLA's intra-op pool had one thread per core, and with one
device per core every thread could end up inside jaxlib's batched ``eigh`` (the Ritz values of the ``sharpness``
probe, 64 runs × 20 Lanczos steps per device), each waiting for tasks it had queued on that same pool: the run never
returned (the spec below, on a 2-core machine, was killed after 90 s; a healthy run takes ~10 s. A program of
descentlab's Lanczos + Ritz step alone, sharded over 2 devices, hung in 3 tries of 3 and finished on 1 device).
The engine run goes in a subprocess with a timeout so that a deadlock fails the test instead of hanging the suite.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from descentlab.host_devices import (
    ENVIRONMENT,
    POOL_ENVIRONMENT,
    POOL_MARKER,
    available_cores,
    configure_pool,
    device_count,
    pool_threads,
)

SCRIPT = """
import sys, tempfile
import descentlab, jax, os
from descentlab.engine import run_spec, spec_from_dict
devices = len(jax.devices())
spec = {
    "name": "thread-pool",
    "problem": {"name": "least_squares", "dim": 20},
    "optimizer": {"name": "sgd", "learning_rate": 0.01},
    "run": {"steps": 1, "seeds": 64 * devices, "checkpoints": 2},
    "probes": [{"name": "sharpness", "iterations": 20}],
}
with tempfile.TemporaryDirectory() as folder:
    summary = run_spec(spec_from_dict(spec), folder)
print(devices, os.environ.get("PJRT_NPROC"), summary.computed)
"""
HANG_SECONDS = 120
"""A deadlock never returns; a healthy run takes about 10 s on 2 loaded cores, so the limit only bounds a failure."""


@pytest.mark.skipif(available_cores() < 2, reason="one core gives one host device: nothing to deadlock")
def test_a_sharded_sweep_with_a_batched_eigh_per_run_returns():
    """One 64-run vmap block per device (one device per core, the default), each with a batched eigh large enough
    for jaxlib to split it over the intra-op pool."""
    cleared = ("XLA_FLAGS", ENVIRONMENT, POOL_ENVIRONMENT, POOL_MARKER, "NPROC")
    env = {k: v for k, v in os.environ.items() if k not in cleared}
    try:
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT],
            env={**env, "JAX_PLATFORMS": "cpu"},
            capture_output=True,
            text=True,
            timeout=HANG_SECONDS,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the sharded run did not return within {HANG_SECONDS} s (intra-op pool deadlock)")
    assert done.returncode == 0, done.stderr[-2000:]
    devices, threads, computed = done.stdout.split()
    cores = available_cores()
    assert int(devices) == cores
    assert threads == str(pool_threads(cores, cores)) == str(2 * cores)
    assert int(computed) == 64 * cores


def test_the_pool_has_a_thread_per_core_beyond_the_devices():
    assert pool_threads(1, 2) is None  # one device: XLA's default pool (one thread per core)
    assert pool_threads(2, 2) == 4
    assert pool_threads(3, 16) == 19


def test_a_device_count_the_user_set_in_xla_flags_sizes_the_pool_too():
    flags = "--xla_cpu_multi_thread_eigen=true --xla_force_host_platform_device_count=3"
    assert device_count({"XLA_FLAGS": flags}) == 3


def test_configure_pool_keeps_the_users_setting_and_recomputes_its_own(monkeypatch):
    monkeypatch.setattr("descentlab.host_devices.available_cores", lambda: 2)
    env: dict[str, str] = {}
    assert configure_pool(2, env) == 4
    assert env == {POOL_ENVIRONMENT: "4", POOL_MARKER: "4"}
    child = dict(env)  # a child process inherits both, and has one device: XLA's default again
    assert configure_pool(1, child) is None
    assert child == {}
    child = dict(env)  # or three
    assert configure_pool(3, child) == 5
    assert child == {POOL_ENVIRONMENT: "5", POOL_MARKER: "5"}
    for own in ({POOL_ENVIRONMENT: "7"}, {"NPROC": "7"}, {POOL_ENVIRONMENT: "7", POOL_MARKER: "4"}):
        env = dict(own)
        assert configure_pool(2, env) is None
        assert {k: v for k, v in env.items() if k != POOL_MARKER} == {k: v for k, v in own.items() if k != POOL_MARKER}
    env = {}
    assert configure_pool(None, env) is None  # the user's own device count unknown: nothing set
    assert env == {}
