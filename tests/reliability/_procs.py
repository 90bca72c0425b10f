"""Helpers for the fault tests: start ``python -m descentlab`` in a subprocess, optionally armed to die mid-write."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

# Runs the CLI with pyarrow.parquet.write_table patched: its DL_KILL_AT_WRITE-th call writes the first half
# of the file's bytes, fsyncs them and SIGKILLs the process — a kill in the middle of a Parquet write.
KILL_AT_WRITE = r"""
import os, runpy, signal, sys
import pyarrow as pa
import pyarrow.parquet as pq
target = int(os.environ["DL_KILL_AT_WRITE"])
original = pq.write_table
calls = [0]
def write_table(table, where, *args, **kwargs):
    calls[0] += 1
    if calls[0] == target:
        sink = pa.BufferOutputStream()
        original(table, sink, *args, **kwargs)
        data = sink.getvalue().to_pybytes()
        with open(where, "wb") as handle:
            handle.write(data[: len(data) // 2])
            handle.flush()
            os.fsync(handle.fileno())
        os.kill(os.getpid(), signal.SIGKILL)
    return original(table, where, *args, **kwargs)
pq.write_table = write_table
sys.argv = ["descentlab", *sys.argv[1:]]
runpy.run_module("descentlab", run_name="__main__")
"""


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("JAX_PLATFORMS", "cpu")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start_run(store: Path, spec: Path, kill_at_write: int | None = None) -> subprocess.Popen:
    args = ["--store", str(store), "run", str(spec), "--no-report"]
    env = environment()
    if kill_at_write is None:
        command = [sys.executable, "-m", "descentlab", *args]
    else:
        env["DL_KILL_AT_WRITE"] = str(kill_at_write)
        command = [sys.executable, "-c", KILL_AT_WRITE, *args]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def chunk_count(store: Path) -> int:
    return sum(1 for _ in store.glob("*/chunks/*/runs.parquet"))


def start_run_after(store: Path, spec: Path, chunks: int, timeout: float = 300) -> subprocess.Popen:
    """Start ``descentlab run spec`` and return once it has stored ``chunks`` chunks and is still running."""
    process = start_run(store, spec)
    deadline = time.monotonic() + timeout
    while process.poll() is None and chunk_count(store) < chunks and time.monotonic() < deadline:
        time.sleep(0.01)
    assert process.poll() is None, process.stdout.read()
    return process


def check_store_readable(store: Path) -> int:
    """Every stored chunk is whole and readable; no run index stored twice. Returns the number of runs stored."""
    seen: set[tuple[str, int]] = set()
    for chunk in store.glob("*/chunks/*"):
        assert chunk.is_dir()
        runs = pq.read_table(chunk / "runs.parquet")
        pq.read_table(chunk / "curves.parquet")
        for run in runs.column("run").to_pylist():
            key = (chunk.parent.parent.name, run)
            assert key not in seen, f"run {key} stored twice"
            seen.add(key)
    return len(seen)
